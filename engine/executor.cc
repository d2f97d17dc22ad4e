#include "engine/executor.h"

#include <malloc.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <utility>

#include "engine/batch_split.h"
#include "engine/branches.h"
#include "engine/memory_plan.h"
#include "engine/optimize/optimize.h"
#include "engine/thread_pool.h"
#include "kernels/onednn/engine.h"

namespace poet {
namespace {

// Why no batch is split on a backend other than native (plan_batch_split, why_no_batch_split).
constexpr std::string_view kSplitNativeOnly = "the batch split runs the native backend only";

bool is_placeholder(const Node& node) {
  return node.op == "Placeholder" || node.op == "PlaceholderWithDefault";
}

// Whether tensors of these shapes could exist (each within max_tensor_bytes()). Op::flops
// multiplies dimensions freely, so it is asked only about shapes a run could allocate: a file
// may declare a placeholder of 2^62 rows.
bool allocatable(std::span<const TensorInfo> tensors) {
  for (const TensorInfo& t : tensors) {
    if (!t.shape.fully_known()) return false;
    try {
      const auto n = static_cast<size_t>(num_elements(t.shape.dims));
      const size_t size = std::max<size_t>(dtype_size(t.dtype), 1);
      if (n > max_tensor_bytes() / size) return false;
    } catch (const Error&) {
      return false;
    }
  }
  return true;
}

// Constant folding runs at load, before anything is fetched: a constant subgraph too big to
// compute in a moment (a crafted file's huge constant MatMul or Conv2D, each input within the
// tensor cap) is left to run time, where it is the work the fetch asks for. ~0.1 s on a core.
constexpr int64_t kMaxFoldFlops = 10'000'000'000;

// The load-time outputs of every node of `graph` in `order`, computing at load what is
// constant (up to kMaxFoldFlops per node). `ops` must hold an Op for each of those nodes.
void infer_nodes(const Graph& graph, std::span<const int> order,
                 std::span<const std::unique_ptr<Op>> ops,
                 std::vector<std::vector<TensorInfo>>& infos) {
  infos.resize(graph.size());
  for (int n : order) {
    const Node& node = graph.node(n);
    const Op& op = *ops[n];
    std::vector<const TensorInfo*> in;
    bool all_known = true;
    for (const Endpoint& e : node.inputs) {
      if (e.index >= static_cast<int>(infos[e.node].size()))
        fail(node.describe(), ": input '", graph.endpoint_name(e), "' does not exist (",
             graph.node(e.node).op, " has ", infos[e.node].size(), " outputs)");
      in.push_back(&infos[e.node][e.index]);
      all_known = all_known && in.back()->value.has_value();
    }
    check_input_types(node, in);
    infos[n].assign(op.num_outputs(), TensorInfo{});
    InferContext ictx(node, in, infos[n]);
    op.infer(ictx);
    bool outputs_known = true;
    for (const TensorInfo& o : infos[n]) outputs_known = outputs_known && o.value.has_value();
    if (outputs_known || !all_known || !op.foldable()) continue;
    std::vector<TensorInfo> in_infos;
    for (const TensorInfo* i : in) in_infos.push_back(*i);
    if (!allocatable(in_infos) || !allocatable(infos[n]) ||
        op.flops(in_infos, infos[n]) > kMaxFoldFlops)
      continue;
    // Every input is a constant: compute now, once, instead of at each run.
    std::vector<const Tensor*> values;
    for (const TensorInfo* i : in) values.push_back(&*i->value);
    std::vector<Tensor> out(infos[n].size());
    ComputeContext cctx(node, values, infos[n], out, nullptr);
    op.compute(cctx);
    for (size_t k = 0; k < out.size(); ++k) {
      if (out[k].valid()) infos[n][k].value = std::move(out[k]);
    }
  }
}

// Feed information from the graph alone: a placeholder's attributes, or for an inner tensor
// what inference over its ancestors finds (unknown where that fails).
TensorInfo infer_feed(const Graph& graph, Endpoint e, const std::string& name,
                      const OpOptions& op_options) {
  const Node& node = graph.node(e.node);
  if (is_placeholder(node)) {
    TensorInfo info;
    info.dtype = node.attr_type("dtype");
    info.shape = node.attr_shape("shape", PartialShape::unknown());
    return info;
  }
  std::vector<std::vector<TensorInfo>> infos;
  try {
    Endpoint fetch[] = {e};
    std::vector<int> order = graph.needed_nodes(fetch, {});
    std::vector<std::unique_ptr<Op>> ops(graph.size());
    for (int n : order) ops[n] = make_op(graph.node(n), op_options);
    infer_nodes(graph, order, ops, infos);
  } catch (const Error&) {
    TensorInfo info;
    info.dtype = node.attr_type("T", node.attr_type("dtype", DType::kFloat32));
    return info;
  }
  check_output_index("feed", name, node, e.index, static_cast<int>(infos[e.node].size()));
  TensorInfo info = infos[e.node][e.index];
  info.value.reset();
  return info;
}

// Dimension 0 is the batch: a graph exported for batch 1 runs any batch, when it keeps the
// images of a batch apart. `batch_mixer` is empty then, and otherwise says which node mixes
// them (a Mean over dimension 0): a batch of another size would give another result.
void check_feed(const std::string& name, const TensorInfo& want, const Tensor& got,
                const std::string& batch_mixer) {
  if (got.dtype() != want.dtype)
    fail("feed '", name, "' is ", dtype_name(got.dtype()), ", the graph expects ",
         dtype_name(want.dtype));
  if (!want.shape.known_rank) return;
  if (!batch_mixer.empty() && got.rank() == want.shape.rank() && got.rank() > 0 &&
      want.shape.dims[0] >= 0 && got.dim(0) != want.shape.dims[0])
    fail("feed '", name, "' has shape ", shape_string(got.shape()), ", the graph expects ",
         want.shape.str(), ": its dimension 0 is a batch only where the graph keeps images apart, ",
         "and ", batch_mixer);
  bool ok = got.rank() == want.shape.rank();
  for (int i = 1; ok && i < got.rank(); ++i)
    ok = want.shape.dims[i] < 0 || want.shape.dims[i] == got.dim(i);
  if (!ok)
    fail("feed '", name, "' has shape ", shape_string(got.shape()), ", the graph expects ",
         want.shape.str());
}

}  // namespace

struct Executable::Impl {
  ExecOptions options;
  OpOptions op_options;
  std::unique_ptr<ThreadPool> pool;
  std::vector<std::string> feed_names, fetch_names;
  Graph graph;  // the pruned graph: feeds are Placeholders, constants folded
  std::vector<std::unique_ptr<Op>> ops;
  std::vector<std::vector<TensorInfo>> infos;  // per node and output, at load
  std::vector<TensorInfo> feed_infos;
  std::vector<int> feed_nodes;
  std::vector<Endpoint> fetches;
  std::vector<int> steps;                 // nodes computed at run time, in order
  std::vector<std::vector<int>> release;  // per step: nodes whose outputs are dead after it
  // Per step: whether nothing reads its outputs (a kept CheckNumerics that only a control input
  // needed), so they are dropped as it ends and take no arena slot.
  std::vector<char> unread;
  // A run's tensors are one vector, node n's outputs from value_begin[n] (graph.size() + 1
  // entries).
  std::vector<size_t> value_begin;
  std::function<void(int, const StepTime&)> observer;
  std::mutex observer_mutex;  // slices of a batch report from several threads
  PerImagePlan per_image;     // its blocker says why batches are not split
  std::string batch_mixer;    // what mixes a batch's images, whether split or not (check_feed)

  // LayerSplit::kAuto's rounds of trials, per batch size: the threads chosen (0 until the
  // first round ends), and the current round's fastest run of each way, [0] split across the
  // pool and [1] on one thread. With ParallelBranches::kAuto and fork-joins to time, a third
  // way (trial_ways) runs every region's branches side by side: per region, its fastest time
  // [0] with its layers split and [1] with its branches side by side, and whether they run so
  // after the round.
  struct LayerSplitTrials {
    int threads = 0;
    int64_t runs = 0;
    std::array<double, 2> fastest{};
    std::array<std::vector<double>, 2> region_fastest;
    std::vector<char> branches;
  };
  int trial_ways() const {
    return options.parallel_branches == ParallelBranches::kAuto && !branch_regions.empty() ? 3 : 2;
  }
  std::map<int64_t, LayerSplitTrials> layer_split_trials;
  mutable std::mutex layer_split_mutex;

  // Activation arenas (engine/memory_plan.h): one for whole-batch runs, one for the images of a
  // split batch, one for the groups of images of its grouped tail (PerImagePlan::tail_step).
  // Planned at the load-time shapes, or where those leave sizes open, at the first run's.
  std::unique_ptr<GrowingArena> arena, image_arena, tail_arena;
  // Concatenations' inputs laid out in place (plan_channel_slices), and per step the floats
  // between its output's pixels when it is one of them (0 otherwise).
  std::vector<ActivationArena::Alias> channel_slices;
  std::vector<int64_t> slice_stride;
  // Fork-joins whose branches may run side by side (ExecOptions::parallel_branches), and per
  // step the region starting there (-1: none). Empty when they never do.
  std::vector<BranchRegion> branch_regions;
  std::vector<int> region_from;
  std::vector<char> all_branches;  // every region's branches side by side (kOn)

  // Steps [first, end) of a run: `inputs` are set before the first (feeds, or the grouped
  // tail's inputs), `outputs` returned after the last. A slice of a batch replaces the Reshape
  // targets that spell the load-time batch.
  struct Pass {
    size_t first = 0, end = 0;
    std::span<const Endpoint> inputs, outputs;
    GrowingArena* arena = nullptr;
    ThreadPool* pool = nullptr;  // null: kernels run on the calling thread
    bool slice = false;
    // Per region of branch_regions: whether its branches run side by side (with a pool).
    std::span<const char> branches;
    // When not empty, each region's time is stored there.
    std::span<double> region_seconds;
  };
  std::vector<Endpoint> feed_endpoints;

  void build(Graph& source);  // consumes source's needed nodes
  // build()'s stages. The nodes the fetches need, in order, and for each the fetch that needs
  // it (for messages).
  struct NeededNodes {
    std::vector<int> order, needed_by;
  };
  NeededNodes copy_needed_nodes(Graph& source);
  std::vector<int> make_ops(const NeededNodes& needed);
  std::vector<int> optimize_graph();
  void plan_steps(std::span<const int> order);
  void plan_batch_split();
  static int64_t common_batch(std::span<const Tensor> feeds);
  std::vector<Tensor> run_steps(const Pass& pass, std::span<const Tensor> inputs);
  struct RunValues;
  struct StepScratch;
  void run_step(const Pass& pass, const ActivationArena::Lease& lease, size_t s,
                ThreadPool* step_pool, RunValues& run, StepScratch& scratch);
  void run_region(const Pass& pass, const ActivationArena::Lease& lease, size_t r, RunValues& run,
                  StepScratch& scratch);
  void run_branches(const Pass& pass, const ActivationArena::Lease& lease,
                    const BranchRegion& region, RunValues& run);
  std::vector<Tensor> run_whole_on(std::span<const Tensor> feeds, ThreadPool* run_pool,
                                   std::span<const char> branches = {},
                                   std::span<double> region_seconds = {});
  bool has_grouped_tail() const {
    return per_image.blocker.empty() && per_image.tail_step < steps.size();
  }
  std::vector<Tensor> run_image(std::span<const Tensor> feeds, int64_t i);
  std::vector<Tensor> run_tail(std::span<std::vector<Tensor>> images);
  std::vector<Tensor> run_split(std::span<const Tensor> feeds, int64_t batch);
  void check_joined_fetches(int64_t batch) const;
  std::vector<Tensor> run_whole(std::span<const Tensor> feeds, int64_t batch);
  bool times_layer_split() const;
  // Per step: its outputs' load-time shapes are fully known (and none is a constant), so a run
  // whose inputs have their load-time shapes need not infer them again (a microsecond a step,
  // which MobileNet's ~30 steps at batch 1 notice).
  std::vector<char> outputs_known;
  bool shaped_as_loaded(size_t step, std::span<const Tensor* const> inputs) const;
  void plan_releases();
  void plan_channel_slices();
  void plan_branches();
  int64_t node_flops(int n) const;
  void plan_arenas();
  void release_adopted_constants();
};

void Executable::Impl::build(Graph& source) {
  const NeededNodes needed = copy_needed_nodes(source);
  std::vector<int> order = make_ops(needed);
  if (options.optimize) order = optimize_graph();
  plan_steps(order);
}

// Copies the nodes the fetches need from `source` into `graph`, each fed tensor replaced by a
// Placeholder, and sets `fetches`.
Executable::Impl::NeededNodes Executable::Impl::copy_needed_nodes(Graph& source) {
  std::vector<Endpoint> feed_eps, fetch_eps;
  for (const std::string& f : feed_names) feed_eps.push_back(source.endpoint(f));
  for (const std::string& f : fetch_names) fetch_eps.push_back(source.endpoint(f));
  // A placeholder's one output is known before its op is made: a fed one never gets an op.
  auto check_placeholder = [&](std::string_view what, const std::string& name, Endpoint e) {
    if (is_placeholder(source.node(e.node)))
      check_output_index(what, name, source.node(e.node), e.index, 1);
  };
  for (size_t i = 0; i < feed_eps.size(); ++i)
    check_placeholder("feed", feed_names[i], feed_eps[i]);
  for (size_t i = 0; i < fetch_eps.size(); ++i)
    check_placeholder("fetch", fetch_names[i], fetch_eps[i]);
  std::map<Endpoint, int> fed;
  for (size_t i = 0; i < feed_eps.size(); ++i) {
    if (!fed.emplace(feed_eps[i], static_cast<int>(i)).second)
      fail("tensor '", feed_names[i], "' is fed twice");
  }

  NeededNodes needed;
  std::vector<int>& needed_by = needed.needed_by;
  needed.order = source.needed_nodes(fetch_eps, feed_eps, &needed_by);

  // Fed tensors become Placeholders; names say which tensor they stand for.
  for (size_t i = 0; i < feed_eps.size(); ++i) {
    feed_infos.push_back(infer_feed(source, feed_eps[i], feed_names[i], op_options));
    if (auto it = options.feed_shapes.find(feed_names[i]); it != options.feed_shapes.end())
      feed_infos.back().shape = it->second;
    Node p;
    const Node& orig = source.node(feed_eps[i].node);
    p.name = needed_by[feed_eps[i].node] < 0 && feed_eps[i].index == 0 ? orig.name : feed_names[i];
    p.op = "Placeholder";
    p.attrs["dtype"] = feed_infos.back().dtype;
    p.attrs["shape"] = feed_infos.back().shape;
    feed_nodes.push_back(graph.add(std::move(p)));
    feed_endpoints.push_back({feed_nodes.back(), 0});
  }
  std::vector<int> remap(source.size(), -1);
  for (int n : needed.order) {
    Node node = std::move(source.node(n));  // source is the executable's own copy
    for (Endpoint& e : node.inputs) {
      auto it = fed.find(e);
      e = it != fed.end() ? Endpoint{feed_nodes[it->second], 0} : Endpoint{remap[e.node], e.index};
    }
    for (int& c : node.control_inputs) {
      auto it = fed.find({c, 0});  // a fed Placeholder (not copied): its feed stands for it
      c = remap[c] < 0 && it != fed.end() ? feed_nodes[it->second] : remap[c];
    }
    if (node.op == "Placeholder")
      fail("placeholder '", node.name, "' must be fed: tensor '", fetch_names[needed_by[n]],
           "' needs it", options.unfed_hint.empty() ? "" : " (" + options.unfed_hint + ")");
    remap[n] = graph.add(std::move(node));
  }
  for (size_t i = 0; i < fetch_eps.size(); ++i) {
    auto it = fed.find(fetch_eps[i]);
    fetches.push_back(it != fed.end() ? Endpoint{feed_nodes[it->second], 0}
                                      : Endpoint{remap[fetch_eps[i].node], fetch_eps[i].index});
  }
  return needed;
}

// Makes each node's op and infers the shapes; returns the nodes in topological order.
std::vector<int> Executable::Impl::make_ops(const NeededNodes& needed) {
  ops.resize(graph.size());
  for (int n = 0; n < graph.size(); ++n) {
    const Node& node = graph.node(n);
    int src = n < static_cast<int>(feed_nodes.size()) ? -1 : needed.order[n - feed_nodes.size()];
    try {
      ops[n] = make_op(node, op_options);
    } catch (const Error& e) {
      if (src < 0) throw;
      fail(e.what(), " (needed to compute '", fetch_names[needed.needed_by[src]], "')");
    }
  }
  std::vector<int> all = graph.topological_order();
  infer_nodes(graph, all, ops, infos);
  // Only the ops know how many outputs they have: "m:0" of a NoOp names nothing.
  for (size_t i = 0; i < fetches.size(); ++i)
    check_output_index("fetch", fetch_names[i], graph.node(fetches[i].node), fetches[i].index,
                       static_cast<int>(infos[fetches[i].node].size()));
  return all;
}

// Runs the optimiser over `graph` and makes the new graph's ops; returns its nodes in
// topological order.
std::vector<int> Executable::Impl::optimize_graph() {
  optimize::Options o;
  o.keep_check_numerics = options.check_numerics;
  o.fuse = options.backend != Backend::kReference;
  o.fuse_depthwise_pointwise = options.fuse_depthwise_pointwise &&
                               op_options.backend_for("Conv2D") == Backend::kNative &&
                               op_options.backend_for("DepthwiseConv2dNative") == Backend::kNative;
  // Moved in, with the ops (Consts hold their values) gone: the optimiser can free each
  // filter as it replaces it with the batch-norm-folded copy.
  ops.clear();
  graph = optimize::run(std::move(graph), std::move(infos), feed_nodes, fetches, o);
  ops.resize(graph.size());
  for (int n = 0; n < graph.size(); ++n) ops[n] = make_op(graph.node(n), op_options);
  infos.clear();
  std::vector<int> all = graph.topological_order();
  infer_nodes(graph, all, ops, infos);
  return all;
}

// The steps a run computes (`order`'s nodes that are not constant, feeds aside), and what
// each run needs planned about them.
void Executable::Impl::plan_steps(std::span<const int> order) {
  for (int n : order) {
    const bool is_feed = n < static_cast<int>(feed_nodes.size());  // set by run()
    bool constant = true;
    for (const TensorInfo& o : infos[n]) constant = constant && o.value.has_value();
    if (!constant && !is_feed) steps.push_back(n);
  }
  for (int n : steps) {
    bool known = true;
    for (const TensorInfo& o : infos[n]) known = known && o.shape.fully_known() && !o.value;
    outputs_known.push_back(known);
  }
  plan_releases();
  value_begin.assign(1, 0);
  for (int n = 0; n < graph.size(); ++n)
    value_begin.push_back(value_begin.back() + infos[n].size());
}

bool Executable::Impl::shaped_as_loaded(size_t step, std::span<const Tensor* const> inputs) const {
  if (!outputs_known[step]) return false;
  const Node& node = graph.node(steps[step]);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorInfo& loaded = infos[node.inputs[i].node][node.inputs[i].index];
    if (inputs[i]->dtype() != loaded.dtype || !loaded.shape.fully_known() ||
        inputs[i]->shape() != loaded.shape.dims)
      return false;
  }
  return true;
}

void Executable::Impl::release_adopted_constants() {
  // A Const whose every run-time reader keeps its own prepared form of it (Op::adopt_constant)
  // is kept as dtype and shape only: a frozen graph's weights then live once, packed. One
  // constant at a time, so the packed copies grow as the originals go.
  std::map<int, std::vector<std::pair<int, int>>> readers;  // Const -> (step node, input)
  for (int n : steps) {
    const Node& node = graph.node(n);
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const int c = node.inputs[i].node;
      if (graph.node(c).op == "Const" && infos[c][0].value)
        readers[c].emplace_back(n, static_cast<int>(i));
    }
  }
  for (const Endpoint& f : fetches) readers.erase(f.node);
  for (const auto& [c, uses] : readers) {
    bool adopted = true;
    for (const auto& [n, i] : uses) {
      std::vector<const TensorInfo*> in;
      for (const Endpoint& e : graph.node(n).inputs) in.push_back(&infos[e.node][e.index]);
      adopted = ops[n]->adopt_constant(i, in) && adopted;
    }
    if (!adopted) continue;
    const Tensor& value = *infos[c][0].value;
    Tensor released = Tensor::released(value.dtype(), value.shape());
    infos[c][0].value = released;
    graph.node(c).attrs["value"] = released;
    ops[c] = make_op(graph.node(c), op_options);
  }
}

void Executable::Impl::plan_releases() {
  // Free each computed output after its last reader so that peak memory stays near the
  // largest few activations rather than their sum.
  std::vector<int> last(graph.size(), -1);
  for (size_t s = 0; s < steps.size(); ++s) {
    for (const Endpoint& e : graph.node(steps[s]).inputs) last[e.node] = static_cast<int>(s);
  }
  for (const Endpoint& f : fetches) last[f.node] = static_cast<int>(steps.size());
  release.assign(steps.size(), {});
  unread.assign(steps.size(), 0);
  for (size_t s = 0; s < steps.size(); ++s) {
    if (last[steps[s]] >= 0) continue;
    last[steps[s]] = static_cast<int>(s);
    unread[s] = 1;
  }
  for (int n = 0; n < graph.size(); ++n) {
    bool computed = !infos[n].empty() && !infos[n][0].value.has_value();
    if (computed && last[n] >= 0 && last[n] < static_cast<int>(steps.size()))
      release[last[n]].push_back(n);
  }
}

// A concatenation along the last axis (Op::channel_join_inputs) gets its inputs in place where
// it alone reads them and their ops write channel slices (Op::writes_channel_slices): each
// such input is laid out as its channels of the output (ActivationArena::Alias), its pixels
// the output's channel count apart, and the concatenation copies only the others. Inception
// v3's joins copied 9 MB at batch 1, 2% of its time. The shapes must be known at load; a run's
// feeds differ from them only in the batch, so its channel counts are the planned ones.
void Executable::Impl::plan_channel_slices() {
  std::vector<int> step_of(graph.size(), -1), readers(graph.size(), 0);
  for (size_t s = 0; s < steps.size(); ++s) {
    step_of[steps[s]] = static_cast<int>(s);
    for (const Endpoint& e : graph.node(steps[s]).inputs) ++readers[e.node];
  }
  for (const Endpoint& f : fetches) ++readers[f.node];
  channel_slices.clear();
  slice_stride.assign(steps.size(), 0);
  std::vector<const TensorInfo*> inputs;
  for (size_t c = 0; c < steps.size(); ++c) {
    const Node& node = graph.node(steps[c]);
    inputs.clear();
    for (const Endpoint& e : node.inputs) inputs.push_back(&infos[e.node][e.index]);
    const std::vector<int> joined = ops[steps[c]]->channel_join_inputs(inputs);
    if (joined.empty() || infos[steps[c]][0].dtype != DType::kFloat32) continue;
    std::vector<ActivationArena::Alias> mine;
    int64_t channel = 0;
    bool known = true;
    for (int i : joined) {
      const Endpoint e = node.inputs[i];
      const TensorInfo& in = infos[e.node][e.index];
      known = in.shape.fully_known();
      if (!known) break;
      const int p = step_of[e.node];
      if (p >= 0 && e.index == 0 && readers[e.node] == 1 && ops[e.node]->writes_channel_slices())
        mine.push_back({static_cast<size_t>(p), 0, c, channel * int64_t{sizeof(float)}});
      channel += in.shape.dims.back();
    }
    if (!known) continue;
    for (const ActivationArena::Alias& alias : mine) slice_stride[alias.step] = channel;
    channel_slices.insert(channel_slices.end(), mine.begin(), mine.end());
  }
}

// The regions of parallel branches (engine/branches.h), when a pool may run them: the native
// backend's kernels (oneDNN threads itself) and more than one thread.
void Executable::Impl::plan_branches() {
  if (options.parallel_branches == ParallelBranches::kOff || options.threads == 1 ||
      !options.native_only())
    return;
  std::vector<int> step_of(graph.size(), -1);
  for (size_t s = 0; s < steps.size(); ++s) step_of[steps[s]] = static_cast<int>(s);
  std::vector<std::vector<size_t>> inputs(steps.size());
  for (size_t s = 0; s < steps.size(); ++s) {
    const Node& node = graph.node(steps[s]);
    for (const Endpoint& e : node.inputs)
      if (step_of[e.node] >= 0) inputs[s].push_back(static_cast<size_t>(step_of[e.node]));
    for (int c : node.control_inputs)
      if (step_of[c] >= 0) inputs[s].push_back(static_cast<size_t>(step_of[c]));
  }
  std::vector<char> fetched(steps.size(), 0);
  for (const Endpoint& f : fetches)
    if (step_of[f.node] >= 0) fetched[step_of[f.node]] = 1;
  branch_regions = find_branch_regions(inputs, fetched);
  region_from.assign(steps.size(), -1);
  for (size_t r = 0; r < branch_regions.size(); ++r)
    region_from[branch_regions[r].first] = static_cast<int>(r);
  // Each region's branches largest first, by multiply-adds: the caller takes them from the
  // front and the workers from the back, so the largest do not meet at the end. (Measured on
  // Inception v3's blocks, in step order the 35x35 blocks took 1.06-1.28 ms side by side, largest
  // first 0.87-1.18.)
  auto flops = [&](const std::vector<size_t>& branch) {
    int64_t sum = 0;
    for (size_t s : branch) sum += node_flops(steps[s]);
    return sum;
  };
  for (BranchRegion& r : branch_regions)
    std::ranges::stable_sort(r.branches, std::greater<>(), flops);
  all_branches.assign(branch_regions.size(), 1);
}

// The FLOP node n computes at its load-time shapes (Op::flops), 0 where they could not exist.
int64_t Executable::Impl::node_flops(int n) const {
  std::vector<TensorInfo> inputs;
  for (const Endpoint& e : graph.node(n).inputs) inputs.push_back(infos[e.node][e.index]);
  return allocatable(inputs) && allocatable(infos[n]) ? ops[n]->flops(inputs, infos[n]) : 0;
}

// The arenas' sizes: every computed output that a later step reads (fetches are the caller's,
// outputs nobody reads live to the end), divided by the load-time batch for the images of a
// split batch. A size the load-time shapes leave open (-1) is planned from the runs'
// (GrowingArena).
void Executable::Impl::plan_arenas() {
  std::vector<int> dies(graph.size(), -1);  // the step after which a node's outputs are dead
  for (size_t s = 0; s < release.size(); ++s)
    for (int n : release[s]) dies[n] = static_cast<int>(s);
  const int64_t batch = feed_infos.empty() ? 0 : std::max<int64_t>(feed_infos[0].shape.dim(0), 0);
  // A split batch's images run the steps before the grouped tail (all steps when there is
  // none) and the groups the tail. What an image passes to its group is returned from its run,
  // so it is allocated on its own: the image's arena buffer goes to the next image then.
  const bool grouped = has_grouped_tail();
  std::set<int> to_tail;
  for (const Endpoint& e : per_image.tail_inputs) to_tail.insert(e.node);
  std::vector<std::vector<int64_t>> whole(steps.size()), image(steps.size()), tail(steps.size());
  std::vector<int> step_dies(steps.size());
  for (size_t s = 0; s < steps.size(); ++s) {
    const int n = steps[s];
    step_dies[s] = dies[n];
    whole[s].assign(infos[n].size(), 0);
    image[s].assign(infos[n].size(), 0);
    tail[s].assign(infos[n].size(), 0);
    if (dies[n] < 0 || unread[s]) continue;
    const bool in_tail = grouped && s >= per_image.tail_step;
    for (size_t k = 0; k < infos[n].size(); ++k) {
      const TensorInfo& o = infos[n][k];
      if (o.value || o.dtype == DType::kString) continue;
      const bool open = !o.shape.fully_known();
      if (!open && !allocatable(std::span(&o, 1))) continue;
      whole[s][k] = open ? -1 : known_bytes(o);
      const int64_t per_image_bytes = open || batch == 0 ? -1 : (whole[s][k] + batch - 1) / batch;
      if (in_tail) {
        tail[s][k] = per_image_bytes < 0 ? -1 : per_image_bytes * PerImagePlan::kTailGroup;
      } else if (!to_tail.contains(n)) {
        image[s][k] = per_image_bytes;
      }
    }
  }
  // An arena is one allocation, held as long as the executable: bounded like any tensor (a file
  // may declare shapes no run could hold). Beyond that, each activation allocates on its own.
  plan_channel_slices();
  auto planned = [&](std::vector<std::vector<int64_t>> bytes,
                     std::vector<ActivationArena::Together> together = {}) {
    return std::make_unique<GrowingArena>(std::move(bytes), step_dies, channel_slices,
                                          std::move(together),
                                          static_cast<int64_t>(max_tensor_bytes()));
  };
  std::vector<ActivationArena::Together> branches;
  for (const BranchRegion& r : branch_regions)
    branches.push_back({static_cast<int>(r.first), static_cast<int>(r.join) - 1});
  arena = planned(std::move(whole), std::move(branches));
  if (per_image.blocker.empty()) image_arena = planned(std::move(image));
  if (grouped) tail_arena = planned(std::move(tail));
}

namespace {

// Gives a step's outputs their arena slots when they fit (a run's shapes may exceed the ones
// planned at load: those outputs allocate on their own). Returns whether output 0 went inside
// a concatenation's output (ActivationArena::Slot::inside).
bool place_in_arena(const ActivationArena::Lease& lease, size_t step,
                    std::span<const TensorInfo> outputs, std::span<Tensor> values) {
  bool inside = false;
  for (size_t k = 0; k < outputs.size(); ++k) {
    const ActivationArena::Slot& slot = lease.arena().slot(step, k);
    const TensorInfo& o = outputs[k];
    if (slot.offset < 0 || o.dtype == DType::kString) continue;
    if (const int64_t bytes = known_bytes(o); bytes >= 0 && bytes <= slot.bytes) {
      values[k] = Tensor(o.dtype, o.shape.known(), lease.view(slot.offset));
      inside = inside || (k == 0 && slot.inside);
    }
  }
  return inside;
}

// An output in the arena but not in its own slot is a view of an input (Reshape, Identity):
// its bytes are only reserved for the input's lifetime, so it gets a copy of its own.
void move_out_of_arena(const ActivationArena::Lease& lease, size_t step, std::span<Tensor> values) {
  for (size_t k = 0; k < values.size(); ++k) {
    Tensor& t = values[k];
    if (!t.valid() || t.dtype() == DType::kString || t.byte_size() == 0) continue;
    const std::byte* p = std::as_const(t).bytes().data();
    const ActivationArena::Slot& slot = lease.arena().slot(step, k);
    if (!lease.holds(p) || (slot.offset >= 0 && p == lease.base() + slot.offset)) continue;
    Tensor copy(t.dtype(), t.shape());
    std::memcpy(copy.bytes().data(), p, t.byte_size());
    t = std::move(copy);
  }
}

}  // namespace

void Executable::Impl::plan_batch_split() {
  PerImagePlan plan = plan_per_image(graph, steps, infos, feed_nodes, fetches);
  batch_mixer = plan.blocker;
  if (options.batch_split == BatchSplit::kOff) {
    per_image.blocker = "the batch split is off";
  } else if (!options.native_only()) {
    per_image.blocker = kSplitNativeOnly;
  } else {
    per_image = std::move(plan);
  }
  if (options.batch_split == BatchSplit::kOn && !per_image.blocker.empty())
    fail("cannot split batches across threads: ", per_image.blocker);
}

bool Executable::splits_batch(int64_t images) const {
  const Impl& m = *impl_;
  if (!m.per_image.blocker.empty() || images < 2) return false;
  // A Reshape whose target spells the load-time batch (Inception v3 2015's pool_3/_reshape to
  // [1, 2048]) takes no other batch whole, on any number of threads.
  const PartialShape& fed = m.feed_infos.at(0).shape;
  if (!m.per_image.slice_shapes.empty() && fed.known_rank && fed.rank() > 0 && images != fed.dim(0))
    return true;
  // One thread splits too: an image's activations stay in cache from layer to layer, where a
  // whole batch's stream through memory (MobileNet v1 1.0 at batch 32 on one thread: 46 images/s
  // whole, 56 split, as fast as batch 1).
  const int threads = pool_threads(m.pool.get());
  return images >= (m.options.batch_split == BatchSplit::kOn ? 2 : threads);
}

// The feeds' batch: the rows every feed has (0 when they differ, or a feed is a scalar or
// strings, which the batch split never cuts). What may be split across the threads, and the
// key of the layer-split trials.
int64_t Executable::Impl::common_batch(std::span<const Tensor> feeds) {
  if (feeds.empty() || feeds[0].rank() == 0) return 0;
  const int64_t batch = feeds[0].dim(0);
  for (const Tensor& f : feeds) {
    if (f.rank() == 0 || f.dim(0) != batch || f.dtype() == DType::kString) return 0;
  }
  return batch;
}

bool ExecOptions::native_only() const {
  return backend == Backend::kNative && std::ranges::all_of(op_backends, [](const auto& ob) {
           return ob.second == Backend::kNative;
         });
}

// A copy of a Graph shares its tensors' buffers: cheap next to loading it.
Executable::Executable(const Graph& graph, std::vector<std::string> feeds,
                       std::vector<std::string> fetches, ExecOptions options)
    : Executable(Graph(graph), std::move(feeds), std::move(fetches), std::move(options)) {}

Executable::Executable(Graph&& graph, std::vector<std::string> feeds,
                       std::vector<std::string> fetches, ExecOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->op_options.backend = options.backend;
  for (const auto& [op, backend] : options.op_backends)
    if (!is_known_op(op))
      fail("a backend is given for op '", op, "', which poet does not implement");
  impl_->op_options.op_backends = options.op_backends;
  impl_->op_options.check_numerics = options.check_numerics;
  impl_->op_options.winograd = options.winograd;
  impl_->feed_names = std::move(feeds);
  impl_->fetch_names = std::move(fetches);
  if (impl_->fetch_names.empty()) fail("nothing to fetch");
  // oneDNN threads with OpenMP, not poet's pool: give it the same count before any primitive.
  if (impl_->op_options.uses(Backend::kOneDnn)) kernels::onednn::set_num_threads(options.threads);
  {
    // The source's weights go before packing: those the optimiser replaced (batch norms folded
    // into filters) are freed here, so peak memory holds at most two copies, briefly.
    Graph source = std::move(graph);
    impl_->build(source);
  }
  impl_->release_adopted_constants();
  impl_->plan_batch_split();
  impl_->plan_branches();
  impl_->plan_arenas();
#ifdef __GLIBC__
  // Loading freed a copy of the weights in pieces amid live ones; glibc keeps such holes
  // resident until asked (measured on Inception v3: 142 MB resident before, 99 MB after).
  malloc_trim(0);
#endif
  if (options.threads != 1) impl_->pool = std::make_unique<ThreadPool>(options.threads);
}

Executable::~Executable() = default;
Executable::Executable(Executable&&) noexcept = default;
Executable& Executable::operator=(Executable&&) noexcept = default;

std::vector<Tensor> Executable::run(std::span<const Tensor> feeds) {
  Impl& m = *impl_;
  if (feeds.size() != m.feed_names.size())
    fail("run() got ", feeds.size(), " feeds for ", m.feed_names.size(), " feed names");
  for (size_t i = 0; i < feeds.size(); ++i)
    check_feed(m.feed_names[i], m.feed_infos[i], feeds[i], m.batch_mixer);
  const int64_t batch = Impl::common_batch(feeds);
  if (batch > 0 && splits_batch(batch)) return m.run_split(feeds, batch);
  return m.run_whole(feeds, batch);
}

bool Executable::Impl::times_layer_split() const {
  return pool && options.layer_split == LayerSplit::kAuto && options.native_only();
}

int Executable::layer_threads(std::span<const Tensor> feeds) const {
  const Impl& m = *impl_;
  if (m.options.layer_split == LayerSplit::kOff) return 1;
  if (!m.times_layer_split()) return pool_threads(m.pool.get());
  std::lock_guard lock(m.layer_split_mutex);
  auto it = m.layer_split_trials.find(Impl::common_batch(feeds));
  return it == m.layer_split_trials.end() ? 0 : it->second.threads;
}

Executable::BranchUse Executable::branch_use(std::span<const Tensor> feeds) const {
  const Impl& m = *impl_;
  BranchUse use{static_cast<int>(m.branch_regions.size()), 0};
  if (m.options.parallel_branches == ParallelBranches::kOn) {
    use.side_by_side = use.regions;
  } else if (m.times_layer_split()) {
    std::lock_guard lock(m.layer_split_mutex);
    auto it = m.layer_split_trials.find(Impl::common_batch(feeds));
    if (it != m.layer_split_trials.end())
      use.side_by_side = static_cast<int>(std::ranges::count(it->second.branches, 1));
  }
  return use;
}

int Executable::trial_runs() const { return 2 * impl_->trial_ways() * kLayerSplitTrials; }

// A batch run whole, each layer split across the pool or all on this thread
// (ExecOptions::layer_split), and with a pool each fork-join's branches side by side or not
// (ExecOptions::parallel_branches). kAuto starts a round of trials every kLayerSplitPeriod runs
// of a batch size, the first at once: its runs take the ways in turn, and when it ends the
// faster (by each way's fastest run; for branches, each region's fastest) is kept, until the
// next round. Rounds repeat because the host
// may move the vCPUs: on the Zen 5 host MobileNet v1 0.25_128 ran 1.3x faster split in one
// minute and 1.25x slower in the others.
std::vector<Tensor> Executable::Impl::run_whole(std::span<const Tensor> feeds, int64_t batch) {
  if (options.layer_split == LayerSplit::kOff) return run_whole_on(feeds, nullptr);
  const bool branches_on = options.parallel_branches == ParallelBranches::kOn;
  if (!times_layer_split())
    return run_whole_on(feeds, pool.get(), branches_on ? all_branches : std::vector<char>());
  // A trial run's way: 0 split, 1 one thread, 2 split with every region's branches side by
  // side; -1 not a trial.
  int way = -1;
  bool timed = false, last_trial = false;
  ThreadPool* run_pool = pool.get();
  std::vector<char> branches;  // per region, side by side
  const int ways = trial_ways();
  {
    std::lock_guard lock(layer_split_mutex);
    LayerSplitTrials& trials = layer_split_trials[batch];
    const int64_t in_period = trials.runs++ % kLayerSplitPeriod;
    if (in_period < 2 * ways * kLayerSplitTrials) {
      if (in_period == 0) {
        trials.fastest.fill(std::numeric_limits<double>::infinity());
        for (std::vector<double>& t : trials.region_fastest)
          t.assign(branch_regions.size(), std::numeric_limits<double>::infinity());
      }
      // Each way twice in a row, timed the second time (trial_runs).
      way = static_cast<int>(in_period / 2 % ways);
      timed = in_period % 2 == 1;
      last_trial = in_period == 2 * ways * kLayerSplitTrials - 1;
      if (way == 1) run_pool = nullptr;
      // Way 0 runs split as the runs after the trials will: with --branches on, side by side.
      if (way == 2 || (way == 0 && branches_on)) branches = all_branches;
    } else if (trials.threads == 1) {
      run_pool = nullptr;
    } else {
      branches = branches_on ? all_branches : trials.branches;
    }
  }
  if (!timed) return run_whole_on(feeds, run_pool, branches);
  std::vector<double> region_seconds(way == 1 ? 0 : branch_regions.size());
  const auto start = std::chrono::steady_clock::now();
  std::vector<Tensor> out = run_whole_on(feeds, run_pool, branches, region_seconds);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  std::lock_guard lock(layer_split_mutex);
  LayerSplitTrials& trials = layer_split_trials[batch];
  double& fastest = trials.fastest[way == 1 ? 1 : 0];
  fastest = std::min(fastest, took.count());
  for (size_t r = 0; r < region_seconds.size(); ++r) {
    double& region = trials.region_fastest[way == 2 ? 1 : 0][r];
    region = std::min(region, region_seconds[r]);
  }
  if (last_trial) {
    trials.threads = layer_split_threads(trials.fastest[0], trials.fastest[1], pool->size());
    // ParallelBranches::kAuto: side by side where that was faster.
    trials.branches.assign(branch_regions.size(), 0);
    for (size_t r = 0; ways == 3 && r < branch_regions.size(); ++r)
      trials.branches[r] = trials.region_fastest[1][r] < trials.region_fastest[0][r];
  }
  return out;
}

int Executable::layer_split_threads(double split_seconds, double one_thread_seconds, int threads) {
  return one_thread_seconds < split_seconds && one_thread_seconds < kLayerSplitShortRun ? 1
                                                                                        : threads;
}

std::vector<Tensor> Executable::Impl::run_whole_on(std::span<const Tensor> feeds,
                                                   ThreadPool* run_pool,
                                                   std::span<const char> branches,
                                                   std::span<double> region_seconds) {
  return run_steps({0, steps.size(), feed_endpoints, fetches, arena.get(), run_pool, false,
                    branches, region_seconds},
                   feeds);
}

namespace {

// An output of a run's own shape that the tensor limit refuses, named by its node: the
// allocation would fail naming only the shape.
void check_output_sizes(const Node& node, std::span<const TensorInfo> outputs) {
  for (size_t k = 0; k < outputs.size(); ++k) {
    const TensorInfo& o = outputs[k];
    if (o.dtype != DType::kString && over_tensor_limit(o))
      fail(node.describe(), ": output ", k, " would be ", o.shape.str(), " of ",
           dtype_name(o.dtype), ", more than the ", max_tensor_bytes(),
           "-byte limit (POET_MAX_TENSOR_BYTES)");
  }
}

}  // namespace

// A split batch holds every image's fetches until they are joined, so a join the tensor limit
// refuses is refused before any image runs, not after the images have filled memory.
void Executable::Impl::check_joined_fetches(int64_t batch) const {
  for (size_t f = 0; f < fetches.size(); ++f) {
    TensorInfo joined = infos[fetches[f].node][fetches[f].index];
    if (!joined.shape.known_rank || joined.shape.rank() == 0) continue;
    joined.shape.dims[0] = batch;
    // A shape left open (an image's size decides it) is checked by the join itself.
    if (over_tensor_limit(joined))
      fail("fetch '", fetch_names[f], "': a batch of ", batch, " makes it ", joined.shape.str(),
           " of ", dtype_name(joined.dtype), ", more than the ", max_tensor_bytes(),
           "-byte limit (POET_MAX_TENSOR_BYTES)");
  }
}

// The threads take the images in turn, one at a time through the graph: a small graph's
// activations for one image stay in L2. With a grouped tail, the images of each group (up to
// kTailGroup in a row) go up to the tail one at a time like any other, and the thread that
// finishes a group's last image runs the tail over the group: one thread's stall then holds
// up a single image, not a group's worth.
std::vector<Tensor> Executable::Impl::run_split(std::span<const Tensor> feeds, int64_t batch) {
  check_joined_fetches(batch);
  const int64_t threads = pool_threads(pool.get());
  const int64_t group = has_grouped_tail() ? std::clamp<int64_t>((batch + threads - 1) / threads, 1,
                                                                 PerImagePlan::kTailGroup)
                                           : 1;
  const int64_t groups = (batch + group - 1) / group;
  std::vector<std::vector<Tensor>> images(static_cast<size_t>(batch));
  std::vector<std::vector<Tensor>> parts(static_cast<size_t>(groups));
  std::vector<std::atomic<int64_t>> done(static_cast<size_t>(groups));
  std::mutex error_mutex;
  std::exception_ptr error;
  parallel_for(
      pool.get(), batch, 1,
      [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          try {
            images[i] = run_image(feeds, i);
            const int64_t g = i / group, first = g * group, last = std::min(batch, first + group);
            if (done[g].fetch_add(1) + 1 < last - first) continue;
            parts[g] = has_grouped_tail() ? run_tail(std::span(images).subspan(first, last - first))
                                          : std::move(images[i]);
          } catch (...) {
            // Workers cannot throw: the first error goes to the caller, the rest are dropped.
            std::lock_guard lock(error_mutex);
            if (!error) error = std::current_exception();
            return;
          }
        }
      },
      ThreadPool::Schedule::kDynamic);
  if (error) std::rethrow_exception(error);
  std::vector<Tensor> out;
  std::vector<Tensor> fetch_parts(parts.size());
  for (size_t f = 0; f < fetches.size(); ++f) {
    for (size_t i = 0; i < parts.size(); ++i) fetch_parts[i] = std::move(parts[i][f]);
    out.push_back(join_rows(fetch_parts, fetch_names[f]));
  }
  return out;
}

// Image i of the feeds up to the grouped tail (all the way without one): the tail's inputs,
// or the fetches.
std::vector<Tensor> Executable::Impl::run_image(std::span<const Tensor> feeds, int64_t i) {
  const bool grouped = has_grouped_tail();
  std::vector<Tensor> slice;
  for (const Tensor& f : feeds) slice.push_back(batch_rows(f, i, i + 1));
  return run_steps({0,
                    grouped ? per_image.tail_step : steps.size(),
                    feed_endpoints,
                    grouped ? per_image.tail_inputs : fetches,
                    image_arena.get(),
                    nullptr,
                    true,
                    {},
                    {}},
                   slice);
}

// The grouped tail over the images whose tail inputs are `images` (consumed): the fetches,
// their rows in order.
std::vector<Tensor> Executable::Impl::run_tail(std::span<std::vector<Tensor>> images) {
  std::vector<Tensor> joined, column(images.size());
  for (size_t k = 0; k < per_image.tail_inputs.size(); ++k) {
    for (size_t i = 0; i < images.size(); ++i) column[i] = std::move(images[i][k]);
    joined.push_back(join_rows(column, graph.endpoint_name(per_image.tail_inputs[k])));
  }
  return run_steps({per_image.tail_step,
                    steps.size(),
                    per_image.tail_inputs,
                    fetches,
                    tail_arena.get(),
                    nullptr,
                    true,
                    {},
                    {}},
                   joined);
}

// One run's tensors, in one vector; a constant is read where it was loaded, not copied.
// (Copying Inception v3's 200 constants, their bookkeeping evicted from cache by a run's 95 MB
// of weights, took 70 us before the first step and 95 us after the last, medians over a run
// of runs: the pool's workers fell asleep meanwhile, and the stem paid for waking them.)
struct Executable::Impl::RunValues {
  const Impl& m;
  std::vector<Tensor> values;
  // Per step, its outputs' sizes (known_bytes), for an arena that grows from them; empty when
  // the pass's arena knew every size at load.
  std::vector<std::vector<int64_t>> sizes;

  RunValues(const Impl& impl, size_t sized_steps)
      : m(impl), values(impl.value_begin.back()), sizes(sized_steps) {}
  std::span<Tensor> outputs_of(int n) {
    return std::span(values).subspan(m.value_begin[n], m.value_begin[n + 1] - m.value_begin[n]);
  }
  // A computed (or fed) tensor, else the constant loaded there; the load-time table is only
  // looked up for the latter.
  const Tensor& value_of(const Endpoint& e) const {
    const Tensor& t = values[m.value_begin[e.node] + e.index];
    if (t.valid()) return t;
    const std::optional<Tensor>& loaded = m.infos[e.node][e.index].value;
    return loaded ? *loaded : t;
  }
  void release_after(size_t step) {
    for (int dead : m.release[step]) std::ranges::fill(outputs_of(dead), Tensor());
  }
};

// A step's inputs and shapes, reused from step to step by the thread running them.
struct Executable::Impl::StepScratch {
  std::vector<TensorInfo> in_infos, run_infos;
  std::vector<const TensorInfo*> in_info_ptrs;
  std::vector<const Tensor*> in_values;
};

std::vector<Tensor> Executable::Impl::run_steps(const Pass& pass, std::span<const Tensor> inputs) {
  // Slices of a split batch run at once, each on its own buffer of the per-image arena. The
  // lease outlives `run`, whose tensors view its buffer, and the arena the lease.
  const std::shared_ptr<ActivationArena> arena = pass.arena ? pass.arena->current() : nullptr;
  const ActivationArena::Lease lease = arena ? arena->acquire() : ActivationArena::Lease();
  RunValues run(*this, pass.arena && pass.arena->open() ? steps.size() : 0);
  for (size_t i = 0; i < inputs.size(); ++i)
    run.outputs_of(pass.inputs[i].node)[pass.inputs[i].index] = inputs[i];
  StepScratch scratch;
  for (size_t s = pass.first; s < pass.end;) {
    const int r = region_from.empty() ? -1 : region_from[s];
    if (r >= 0 && branch_regions[r].join < pass.end) {
      run_region(pass, lease, static_cast<size_t>(r), run, scratch);
      s = branch_regions[r].join;
    } else {
      run_step(pass, lease, s, pass.pool, run, scratch);
      run.release_after(s);
      ++s;
    }
  }
  std::vector<Tensor> out;
  for (const Endpoint& e : pass.outputs) {
    const Tensor& t = run.value_of(e);
    if (!t.valid()) fail("tensor '", graph.endpoint_name(e), "' was not computed");
    out.push_back(t);
  }
  if (!run.sizes.empty()) pass.arena->record(run.sizes);
  return out;
}

// Step s on `step_pool` (null: on this thread alone).
void Executable::Impl::run_step(const Pass& pass, const ActivationArena::Lease& lease, size_t s,
                                ThreadPool* step_pool, RunValues& run, StepScratch& scratch) {
  auto start = std::chrono::steady_clock::now();
  const ThreadPool::Usage usage_before =
      observer && step_pool ? step_pool->usage() : ThreadPool::Usage{};
  int n = steps[s];
  const Node& node = graph.node(n);
  std::vector<const Tensor*>& in_values = scratch.in_values;
  in_values.clear();
  for (const Endpoint& e : node.inputs) in_values.push_back(&run.value_of(e));
  bool sliced_target = false;
  if (pass.slice) {
    if (auto it = per_image.slice_shapes.find(n); it != per_image.slice_shapes.end()) {
      in_values[1] = &it->second;
      sliced_target = true;
    }
  }
  std::span<const TensorInfo> out_infos = infos[n];
  if (sliced_target || !shaped_as_loaded(s, in_values)) {
    scratch.in_infos.clear();
    for (const Tensor* t : in_values)
      scratch.in_infos.push_back(TensorInfo{t->dtype(), PartialShape(t->shape()), *t});
    scratch.in_info_ptrs.clear();
    for (const TensorInfo& i : scratch.in_infos) scratch.in_info_ptrs.push_back(&i);
    scratch.run_infos.assign(ops[n]->num_outputs(), TensorInfo{});
    InferContext ictx(node, scratch.in_info_ptrs, scratch.run_infos);
    ops[n]->infer(ictx);
    out_infos = scratch.run_infos;
    check_output_sizes(node, out_infos);
  }
  const std::span<Tensor> outputs = run.outputs_of(n);
  if (!run.sizes.empty()) {
    run.sizes[s].clear();
    for (const TensorInfo& o : out_infos) run.sizes[s].push_back(known_bytes(o));
  }
  const bool inside = lease.base() && place_in_arena(lease, s, out_infos, outputs);
  ComputeContext cctx(node, in_values, out_infos, outputs, step_pool, inside ? slice_stride[s] : 0);
  ops[n]->compute(cctx);
  // Held, a check's output (a view of its input) was copied out of the arena and kept to the
  // end of the run: 16 MB and a copy per check of a 512x512x16 activation.
  if (unread[s]) std::ranges::fill(outputs, Tensor());
  if (lease.base()) move_out_of_arena(lease, s, outputs);
  if (observer) {
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    StepTime time{took.count(), took.count()};
    if (step_pool) {
      const ThreadPool::Usage usage = step_pool->usage();
      time.thread_seconds +=
          1e-9 * static_cast<double>((usage.worker_busy_ns - usage_before.worker_busy_ns) -
                                     (usage.caller_wait_ns - usage_before.caller_wait_ns));
    }
    // Slices of a batch and parallel branches report from several threads.
    std::unique_lock lock(observer_mutex, std::defer_lock);
    if (pass.slice || !step_pool) lock.lock();
    observer(static_cast<int>(s), time);
  }
}

// Region r of branch_regions: its branches side by side when the pass says so and has a pool,
// else its steps in order.
void Executable::Impl::run_region(const Pass& pass, const ActivationArena::Lease& lease, size_t r,
                                  RunValues& run, StepScratch& scratch) {
  const auto start = std::chrono::steady_clock::now();
  const BranchRegion& region = branch_regions[r];
  if (pass.pool && r < pass.branches.size() && pass.branches[r]) {
    run_branches(pass, lease, region, run);
    for (size_t s = region.first; s < region.join; ++s) run.release_after(s);
  } else {
    for (size_t s = region.first; s < region.join; ++s) {
      run_step(pass, lease, s, pass.pool, run, scratch);
      run.release_after(s);
    }
  }
  if (!pass.region_seconds.empty())
    pass.region_seconds[r] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The region's branches, each taken whole by a thread as it comes free (the caller from the
// front of the list, the largest, the workers from the back), every step on that thread alone.
// Outputs dead after a step are released after the region: another branch may still read them.
void Executable::Impl::run_branches(const Pass& pass, const ActivationArena::Lease& lease,
                                    const BranchRegion& region, RunValues& run) {
  std::vector<std::exception_ptr> errors(region.branches.size());
  pass.pool->parallel_for(
      static_cast<int64_t>(region.branches.size()), 1,
      [&](int64_t begin, int64_t end) {
        StepScratch scratch;
        for (int64_t b = begin; b < end; ++b) {
          try {
            for (size_t s : region.branches[b]) run_step(pass, lease, s, nullptr, run, scratch);
          } catch (...) {
            errors[b] = std::current_exception();
          }
        }
      },
      ThreadPool::Schedule::kDynamic);
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}

const TensorInfo& Executable::feed_info(int i) const { return impl_->feed_infos.at(i); }

const TensorInfo& Executable::fetch_info(int i) const {
  const Endpoint& e = impl_->fetches.at(i);
  return impl_->infos[e.node][e.index];
}

const std::string& Executable::batch_split_blocker() const { return impl_->per_image.blocker; }

std::string Executable::why_no_batch_split() const {
  if (!impl_->batch_mixer.empty()) return impl_->batch_mixer;
  return impl_->options.native_only() ? "" : std::string(kSplitNativeOnly);
}

int64_t Executable::tail_steps() const {
  const Impl& m = *impl_;
  return m.has_grouped_tail() ? static_cast<int64_t>(m.steps.size() - m.per_image.tail_step) : 0;
}

Executable::ArenaSizes Executable::arena_sizes() const {
  ArenaSizes sizes;
  auto current = [](const std::unique_ptr<GrowingArena>& a) { return a ? a->current() : nullptr; };
  if (const auto whole = current(impl_->arena)) {
    sizes.bytes = whole->bytes();
    sizes.peak_live = whole->peak_live();
  }
  if (const auto image = current(impl_->image_arena)) sizes.image_bytes = image->bytes();
  if (const auto tail = current(impl_->tail_arena)) sizes.tail_bytes = tail->bytes();
  return sizes;
}

std::span<const std::string> Executable::feed_names() const { return impl_->feed_names; }

std::vector<StepInfo> Executable::steps() const {
  const Impl& m = *impl_;
  std::vector<StepInfo> out;
  for (int n : m.steps) {
    const Node& node = m.graph.node(n);
    StepInfo step{node.name, node.op, m.infos[n], m.node_flops(n),
                  m.op_options.backend_for(node.op)};
    for (TensorInfo& o : step.outputs) o.value.reset();
    out.push_back(std::move(step));
  }
  return out;
}

void Executable::set_step_observer(std::function<void(int, const StepTime&)> observer) {
  if (impl_->pool) impl_->pool->set_timing(observer != nullptr);
  impl_->observer = std::move(observer);
}

}  // namespace poet
