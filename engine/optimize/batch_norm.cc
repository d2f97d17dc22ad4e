#include "engine/optimize/batch_norm.h"

#include <map>

namespace poet::optimize {
namespace {

// How many data and control inputs read each node's outputs (control reads count at index -1).
using Readers = std::map<Endpoint, int>;

// Each endpoint's readers in `g`; the graph's `outputs`, read from outside it, count as one.
Readers count_readers(const Graph& g, std::span<const Endpoint> outputs) {
  Readers readers;
  for (const Node& node : g.nodes()) {
    for (const Endpoint& e : node.inputs) ++readers[e];
    for (int c : node.control_inputs) ++readers[{c, -1}];
  }
  for (const Endpoint& e : outputs) ++readers[e];
  return readers;
}

int readers_of(const Readers& readers, Endpoint e) {
  auto it = readers.find(e);
  return it == readers.end() ? 0 : it->second;
}

// The float32 value of a Const node of `channels` elements, or null.
const Tensor* channel_const(const Graph& g, Endpoint e, int64_t channels) {
  const Node& node = g.node(e.node);
  if (node.op != "Const" || e.index != 0 || !node.has_attr("value")) return nullptr;
  const Tensor& t = node.attr_tensor("value");
  if (t.dtype() != DType::kFloat32 || t.rank() != 1 || t.dim(0) != channels) return nullptr;
  return &t;
}

bool is_batch_norm(const Node& node) {
  return (node.op == "FusedBatchNorm" || node.op == "FusedBatchNormV3") &&
         !node.attr_bool("is_training", true) && node.inputs.size() == 5 &&
         node.attr_string("data_format", "NHWC") == "NHWC";
}

// A convolution -> [BiasAdd ->] batch norm chain that can be folded.
struct Chain {
  int conv = -1, bias_add = -1, bn = -1;
  int64_t channels = 0;
};

bool find_chain(const Graph& g, const Readers& readers, int bn, Chain& chain) {
  const Node& norm = g.node(bn);
  if (!is_batch_norm(norm) || norm.inputs[0].index != 0) return false;
  for (int k = 1; k < 6; ++k)  // the batch mean / variance outputs must be unused
    if (readers_of(readers, {bn, k}) > 0) return false;
  int producer = norm.inputs[0].node;
  chain = {-1, -1, bn, 0};
  if (g.node(producer).op == "BiasAdd") {
    chain.bias_add = producer;
    const Endpoint in = g.node(producer).inputs.at(0);
    if (in.index != 0 || readers_of(readers, {producer, 0}) != 1) return false;
    producer = in.node;
  }
  const Node& conv = g.node(producer);
  if (conv.op != "Conv2D" && conv.op != "DepthwiseConv2dNative") return false;
  if (conv.attr_string("data_format", "NHWC") != "NHWC" || conv.inputs.size() != 2) return false;
  if (readers_of(readers, {producer, 0}) != 1) return false;
  const Endpoint filter = conv.inputs[1];
  const Node& filter_node = g.node(filter.node);
  if (filter_node.op != "Const" || readers_of(readers, filter) != 1) return false;
  const Tensor& w = filter_node.attr_tensor("value");
  if (w.dtype() != DType::kFloat32 || w.rank() != 4) return false;
  chain.conv = producer;
  chain.channels = conv.op == "Conv2D" ? w.dim(3) : w.dim(2) * w.dim(3);
  if (chain.bias_add >= 0 && !channel_const(g, g.node(chain.bias_add).inputs.at(1), chain.channels))
    return false;
  for (int k = 1; k < 5; ++k)
    if (!channel_const(g, norm.inputs[k], chain.channels)) return false;
  return true;
}

Node const_node(std::string name, Tensor value) {
  Node node;
  node.name = std::move(name);
  node.op = "Const";
  node.attrs = {{"dtype", DType::kFloat32}, {"value", std::move(value)}};
  return node;
}

// Rewrites one chain; marks the nodes it no longer needs in `drop`.
void fold_chain(Graph& g, const Chain& chain, std::span<const Endpoint> outputs,
                std::vector<char>& drop) {
  const int64_t channels = chain.channels;
  std::vector<float> scale(channels, 1.f), bias(channels, 0.f);
  if (chain.bias_add >= 0) {
    const Endpoint b = g.node(chain.bias_add).inputs[1];
    auto values = g.node(b.node).attr_tensor("value").data<float>();
    bias.assign(values.begin(), values.end());
    drop[chain.bias_add] = 1;
  }
  Node& norm = g.node(chain.bn);
  // FusedBatchNorm inputs: x, scale (gamma), offset (beta), mean, variance.
  auto stat = [&](int k) { return g.node(norm.inputs[k].node).attr_tensor("value").data<float>(); };
  const float epsilon = norm.attr_float("epsilon", 0.0001f);
  for (int64_t c = 0; c < channels; ++c)
    fold_batch_norm(scale[c], bias[c], {stat(1)[c], stat(2)[c], stat(3)[c], stat(4)[c], epsilon});

  Node& filter = g.node(g.node(chain.conv).inputs[1].node);
  filter.attrs["value"] = scale_output_channels(filter.attr_tensor("value"), scale);

  std::vector<int> unread;
  for (size_t k = 1; k < norm.inputs.size(); ++k) unread.push_back(norm.inputs[k].node);
  if (chain.bias_add >= 0) unread.push_back(g.node(chain.bias_add).inputs[1].node);
  const std::string bias_name = unused_name(
      norm.name + "/folded_bias", [&](const std::string& name) { return g.find(name) >= 0; });
  int bias_node = g.add(const_node(bias_name, Tensor::from_floats({channels}, bias)));
  drop.push_back(0);

  Node& out = g.node(chain.bn);  // re-fetched: add() may have moved the nodes
  out.op = "BiasAdd";
  out.inputs = {{chain.conv, 0}, {bias_node, 0}};
  out.attrs = {{"T", DType::kFloat32}, {"data_format", std::string("NHWC")}};
  // The statistics Consts go when nothing else reads them.
  Readers readers = count_readers(g, outputs);
  for (int n : unread)
    if (g.node(n).op == "Const" && readers_of(readers, {n, 0}) == 0 &&
        readers_of(readers, {n, -1}) == 0)
      drop[n] = 1;
}

// The graph without the dropped nodes, inputs renumbered.
Graph compact(const Graph& g, const std::vector<char>& drop) {
  std::vector<int> index(g.size(), -1);
  int next = 0;
  for (int i = 0; i < g.size(); ++i)
    if (!drop[i]) index[i] = next++;
  Graph out;
  for (int i = 0; i < g.size(); ++i) {
    if (drop[i]) continue;
    Node node = g.node(i);
    for (Endpoint& e : node.inputs) e.node = index.at(e.node);
    for (int& c : node.control_inputs) c = index.at(c);
    out.add(std::move(node));
  }
  return out;
}

}  // namespace

Tensor scale_output_channels(const Tensor& filter, std::span<const float> scale) {
  Tensor w = filter.clone();
  auto data = w.data<float>();
  const size_t channels = scale.size();
  for (size_t i = 0; i < data.size(); ++i) data[i] *= scale[i % channels];
  return w;
}

Graph fold_batch_norms(const Graph& graph, int* folded, std::span<const std::string> outputs) {
  Graph g = graph;
  std::vector<Endpoint> read_outside;
  for (const std::string& name : outputs) read_outside.push_back(g.endpoint(name));
  std::vector<char> drop(g.size(), 0);
  int count = 0;
  const int original = g.size();
  for (int n = 0; n < original; ++n) {
    Chain chain;
    if (!find_chain(g, count_readers(g, read_outside), n, chain)) continue;
    fold_chain(g, chain, read_outside, drop);
    ++count;
  }
  if (folded) *folded = count;
  return compact(g, drop);
}

}  // namespace poet::optimize
