#include "engine/optimize/optimize.h"

#include <algorithm>

#include "engine/ops/conv_attrs.h"

namespace poet::optimize {
namespace {

bool is_forwarding(const Node& node, const Options& options) {
  return node.op == "Identity" || node.op == "PlaceholderWithDefault" ||
         (node.op == "CheckNumerics" && !options.keep_check_numerics);
}

bool is_feed(const Rewrite& rw, int n) {
  return std::find(rw.feeds.begin(), rw.feeds.end(), n) != rw.feeds.end();
}

// Step 1: a single-output node whose value inference already knows becomes a Const.
void materialise_constants(Rewrite& rw) {
  for (size_t n = 0; n < rw.nodes.size(); ++n) {
    Node& node = rw.nodes[n];
    if (node.op == "Const" || rw.infos[n].size() != 1 || !rw.infos[n][0].value ||
        is_feed(rw, static_cast<int>(n)))
      continue;
    const Tensor& value = *rw.infos[n][0].value;
    node.op = "Const";
    node.inputs.clear();
    node.attrs = {{"dtype", value.dtype()}, {"value", value}};
  }
}

// Control inputs order nothing poet could see but a CheckNumerics's error (its only op with an
// effect), and a run that fails returns nothing, so when it fails does not matter, only that
// it does. The graph holds only what the fetches need, through data and control inputs alike,
// so every kept CheckNumerics in it runs (a root), and the control inputs go: no rewrite need
// keep them pointing at nodes it fuses or drops.
void drop_control_inputs(Rewrite& rw, const Options& options) {
  for (size_t n = 0; n < rw.nodes.size(); ++n) {
    rw.nodes[n].control_inputs.clear();
    if (options.keep_check_numerics && rw.nodes[n].op == "CheckNumerics")
      rw.roots.push_back(static_cast<int>(n));
  }
}

// Step 2: readers of a forwarding node read its input instead.
void forward_identities(Rewrite& rw, const Options& options) {
  auto resolve = [&](Endpoint e) {
    while (!is_feed(rw, e.node) && is_forwarding(rw.nodes[e.node], options) &&
           !rw.nodes[e.node].inputs.empty())
      e = rw.nodes[e.node].inputs[0];
    return e;
  };
  for (Node& node : rw.nodes)
    for (Endpoint& in : node.inputs) in = resolve(in);
  for (Endpoint& f : rw.fetches) f = resolve(f);
}

// Step 6: keep what the fetches and roots reach (and the feeds, whose positions callers rely
// on).
void prune(Rewrite& rw) {
  std::vector<char> live(rw.nodes.size(), 0);
  std::vector<int> work(rw.feeds.begin(), rw.feeds.end());
  work.insert(work.end(), rw.roots.begin(), rw.roots.end());
  for (const Endpoint& f : rw.fetches) work.push_back(f.node);
  while (!work.empty()) {
    int n = work.back();
    work.pop_back();
    if (live[n] || !rw.alive[n]) continue;
    live[n] = 1;
    for (const Endpoint& in : rw.nodes[n].inputs) work.push_back(in.node);
  }
  rw.alive = std::move(live);
}

// The live nodes as a Graph, inputs before readers (new nodes were appended at the end, so
// the order is recomputed), with feeds and fetches renumbered.
Graph compact(const Rewrite& rw, std::vector<int>& feeds, std::vector<Endpoint>& fetches) {
  Graph all;
  for (const Node& node : rw.nodes) all.add(node);
  std::vector<int> order = all.topological_order(rw.alive);
  // Feeds first, as the executor expects.
  std::stable_partition(order.begin(), order.end(), [&](int n) { return is_feed(rw, n); });
  std::vector<int> remap(rw.nodes.size(), -1);
  Graph out;
  for (int n : order) {
    Node node = rw.nodes[n];
    for (Endpoint& e : node.inputs) e.node = remap[e.node];
    remap[n] = out.add(std::move(node));
  }
  for (int& f : feeds) f = remap[f];
  fetches = rw.fetches;
  for (Endpoint& f : fetches) f.node = remap[f.node];
  return out;
}

}  // namespace

int Rewrite::add(Node node, std::vector<TensorInfo> outputs) {
  nodes.push_back(std::move(node));
  alive.push_back(1);
  infos.push_back(std::move(outputs));
  return static_cast<int>(nodes.size()) - 1;
}

const Tensor* Rewrite::constant(Endpoint e) const {
  const Node& node = nodes[e.node];
  if (node.op != "Const" || e.index != 0) return nullptr;
  return &node.attr_tensor("value");
}

std::vector<std::vector<int>> Rewrite::reader_counts() const {
  std::vector<std::vector<int>> counts(nodes.size());
  for (size_t n = 0; n < nodes.size(); ++n) counts[n].assign(infos[n].size(), 0);
  for (size_t n = 0; n < nodes.size(); ++n) {
    if (!alive[n]) continue;
    for (const Endpoint& in : nodes[n].inputs) ++counts[in.node][in.index];
  }
  for (const Endpoint& f : fetches) ++counts[f.node][f.index];
  return counts;
}

int Rewrite::sole_reader(const std::vector<std::vector<int>>& readers, int n, int& slot) const {
  if (readers[n].empty() || readers[n][0] != 1 || other_outputs_read(readers, n)) return -1;
  for (const Endpoint& f : fetches)
    if (f.node == n) return -1;
  for (size_t r = 0; r < nodes.size(); ++r) {
    if (!alive[r]) continue;
    const auto& inputs = nodes[r].inputs;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i] == Endpoint{n, 0}) {
        slot = static_cast<int>(i);
        return static_cast<int>(r);
      }
    }
  }
  return -1;
}

bool Rewrite::other_outputs_read(const std::vector<std::vector<int>>& readers, int n) {
  return std::any_of(readers[n].begin() + (readers[n].empty() ? 0 : 1), readers[n].end(),
                     [](int count) { return count > 0; });
}

const Tensor* Rewrite::pointwise_filter(const Node& node, int slot) const {
  if (node.op != "_FusedConv2D" || slot != 0 || node.inputs.size() != 3) return nullptr;
  // Every live node was made into an op before the optimiser ran: its attributes read.
  const ops::WindowAttrs a = ops::read_window_attrs(node, /*pooling=*/false);
  if (a.stride_h != 1 || a.stride_w != 1 || a.dilation_h != 1 || a.dilation_w != 1) return nullptr;
  const Tensor* filter = constant(node.inputs[1]);
  const bool one_by_one =
      filter && filter->rank() == 4 && filter->dim(0) == 1 && filter->dim(1) == 1;
  return one_by_one ? filter : nullptr;
}

void Rewrite::redirect(Endpoint from, Endpoint to) {
  for (size_t n = 0; n < nodes.size(); ++n) {
    if (!alive[n]) continue;
    for (Endpoint& in : nodes[n].inputs)
      if (in == from) in = to;
  }
  for (Endpoint& f : fetches)
    if (f == from) f = to;
}

Graph run(Graph graph, std::vector<std::vector<TensorInfo>> infos, std::vector<int>& feeds,
          std::vector<Endpoint>& fetches, const Options& options) {
  Rewrite rw;
  for (int n = 0; n < graph.size(); ++n) rw.nodes.push_back(std::move(graph.node(n)));
  graph = Graph();
  rw.alive.assign(rw.nodes.size(), 1);
  rw.infos = std::move(infos);
  rw.fetches = fetches;
  rw.feeds = feeds;
  drop_control_inputs(rw, options);
  materialise_constants(rw);
  forward_identities(rw, options);
  if (options.fuse) {
    prune(rw);
    fuse_conv(rw);
    pool_after_conv(rw);
    if (options.fuse_depthwise_pointwise) chain_convolutions(rw);
  }
  prune(rw);
  return compact(rw, feeds, fetches);
}

}  // namespace poet::optimize
