#include "engine/batch_split.h"

#include <algorithm>
#include <set>
#include <string_view>

namespace poet {
namespace {

// What row i of a tensor is: a constant (the same for every image), image i's own data, or
// possibly anything (derived from several images, or not understood).
enum class Rows { kConstant, kPerImage, kMixed };

// Ops whose every output element depends only on the same position of the input.
const std::set<std::string_view> kElementwise = {"Identity", "CheckNumerics", "Relu",
                                                 "Relu6",    "Rsqrt",         "Cast"};
const std::set<std::string_view> kBinary = {"Add",     "AddV2",   "Sub",    "Mul",
                                            "RealDiv", "Maximum", "Minimum"};
// Ops over input 0's images one by one, every other input a weight or a size: windows never
// span the batch (the window attributes' batch entry must be 1), BiasAdd and batch norm are
// per channel, ResizeBilinear resizes each image.
const std::set<std::string_view> kPerImageOfInput0 = {"Conv2D",
                                                      "_FusedConv2D",
                                                      "DepthwiseConv2dNative",
                                                      "_FusedDepthwiseConv2dNative",
                                                      "_FusedConvChain",
                                                      "MaxPool",
                                                      "AvgPool",
                                                      "_FusedAvgPool",
                                                      "BiasAdd",
                                                      "BiasAddV1",
                                                      "ResizeBilinear",
                                                      "FusedBatchNorm",
                                                      "FusedBatchNormV3",
                                                      "BatchNormWithGlobalNormalization"};

class Planner {
 public:
  Planner(const Graph& graph, const std::vector<std::vector<TensorInfo>>& infos)
      : graph_(graph), infos_(infos), rows_(graph.size()) {
    for (int n = 0; n < graph.size(); ++n) {
      for (const TensorInfo& info : infos[n])
        rows_[n].push_back(info.value ? Rows::kConstant : Rows::kMixed);
    }
  }

  void set_fed(int node) { rows_[node][0] = Rows::kPerImage; }
  Rows rows(Endpoint e) const { return rows_[e.node][e.index]; }

  // Marks node n's outputs per image when its op keeps images apart; otherwise says why not.
  std::string step(int n, PerImagePlan& plan) {
    node_ = &graph_.node(n);
    const std::string_view op = node_->op;
    bool ok = false;
    int outputs = static_cast<int>(rows_[n].size());
    if (kElementwise.contains(op)) {
      ok = input0_per_image();
    } else if (kBinary.contains(op)) {
      ok = broadcast_per_image();
    } else if (kPerImageOfInput0.contains(op)) {
      ok = input0_per_image();
      outputs = 1;  // a batch norm's other outputs are statistics
    } else if (op == "MatMul") {
      ok = input0_per_image() && rank(0) == 2 && !node_->attr_bool("transpose_a", false);
    } else if (op == "Softmax") {
      ok = input0_per_image() && rank(0) >= 2;  // over the last axis
    } else if (op == "Mean") {
      ok = input0_per_image() && axes_skip_batch(const_ints(1), rank(0));
    } else if (op == "Squeeze") {
      // No squeeze_dims squeezes every 1, the batch of a one-image slice too.
      const std::vector<int64_t> dims = node_->attr_ints("squeeze_dims", {});
      ok = input0_per_image() && !dims.empty() && axes_skip_batch(dims, rank(0));
    } else if (op == "ExpandDims") {
      ok = input0_per_image() && axes_skip_batch(const_ints(1), rank(0) + 1);
    } else if (op == "Pad") {
      const std::vector<int64_t> pads = const_ints(1);
      ok = input0_per_image() && pads.size() >= 2 && pads[0] == 0 && pads[1] == 0;
    } else if (op == "Concat" || op == "ConcatV2") {
      ok = concat_per_image(op == "Concat");
    } else if (op == "Reshape") {
      ok = reshape_per_image(n, plan);
    }
    if (!ok) return str_cat(node_->describe(), " may mix the images of a batch");
    for (int k = 0; k < outputs && k < static_cast<int>(rows_[n].size()); ++k)
      rows_[n][k] = Rows::kPerImage;
    return {};
  }

 private:
  Endpoint in(int i) const { return node_->inputs[i]; }
  int num_inputs() const { return static_cast<int>(node_->inputs.size()); }
  const TensorInfo& info(int i) const { return infos_[in(i).node][in(i).index]; }
  // Load-time rank of input i, -1 when unknown.
  int rank(int i) const { return info(i).shape.known_rank ? info(i).shape.rank() : -1; }

  bool input0_per_image() const {
    if (num_inputs() < 1 || rows(in(0)) != Rows::kPerImage || rank(0) < 1) return false;
    for (int i = 1; i < num_inputs(); ++i)
      if (rows(in(i)) != Rows::kConstant) return false;
    return true;
  }

  // The integers of constant input i; empty when it is not a constant int tensor.
  std::vector<int64_t> const_ints(int i) const {
    if (i >= num_inputs() || !info(i).value) return {};
    const Tensor& t = *info(i).value;
    std::vector<int64_t> out;
    if (t.dtype() == DType::kInt32) {
      for (int32_t v : t.data<int32_t>()) out.push_back(v);
    } else if (t.dtype() == DType::kInt64) {
      for (int64_t v : t.data<int64_t>()) out.push_back(v);
    }
    return out;
  }

  // Every axis valid for `rank` and none of them the batch.
  static bool axes_skip_batch(std::span<const int64_t> axes, int rank) {
    if (axes.empty() || rank < 1) return false;
    for (int64_t a : axes) {
      if (a < -rank || a >= rank || a == 0 || a == -rank) return false;
    }
    return true;
  }

  // Per-image inputs of one rank; constants of lower rank (they align with the trailing
  // dimensions) or of that rank with a batch dimension of 1.
  bool broadcast_per_image() const {
    int r = -1;
    for (int i = 0; i < num_inputs(); ++i) {
      if (rows(in(i)) != Rows::kPerImage) continue;
      if (rank(i) < 1 || (r >= 0 && rank(i) != r)) return false;
      r = rank(i);
    }
    if (r < 0) return false;
    for (int i = 0; i < num_inputs(); ++i) {
      if (rows(in(i)) == Rows::kPerImage) continue;
      if (rows(in(i)) != Rows::kConstant || rank(i) < 0 || rank(i) > r) return false;
      if (rank(i) == r && info(i).shape.dim(0) != 1) return false;
    }
    return true;
  }

  bool concat_per_image(bool axis_first) const {
    const int axis_input = axis_first ? 0 : num_inputs() - 1;
    if (num_inputs() < 2 || rows(in(axis_input)) != Rows::kConstant) return false;
    int r = -1;
    for (int i = 0; i < num_inputs(); ++i) {
      if (i == axis_input) continue;
      if (rows(in(i)) != Rows::kPerImage || rank(i) < 1 || (r >= 0 && rank(i) != r)) return false;
      r = rank(i);
    }
    const std::vector<int64_t> axis = const_ints(axis_input);
    return axis.size() == 1 && axes_skip_batch(axis, r);
  }

  // Reshape to [batch, per-image dims]: the target keeps the batch first (as -1 or as the
  // load-time batch) and the per-image element count.
  bool reshape_per_image(int n, PerImagePlan& plan) const {
    if (!input0_per_image() || num_inputs() != 2) return false;
    const PartialShape& from = info(0).shape;
    const std::vector<int64_t> to = const_ints(1);
    if (!from.known_rank || to.empty()) return false;
    int64_t from_image = 1, to_image = 1;
    for (int d = 1; d < from.rank(); ++d) {
      if (from.dims[d] < 0 || __builtin_mul_overflow(from_image, from.dims[d], &from_image))
        return false;
    }
    for (size_t d = 1; d < to.size(); ++d) {
      if (to[d] < 0 || __builtin_mul_overflow(to_image, to[d], &to_image)) return false;
    }
    // A batch unknown at load (-1) is only matched by -1.
    if (from_image != to_image || (to[0] != -1 && to[0] != from.dims[0])) return false;
    if (to[0] != -1) {
      const DType dtype = info(1).value->dtype();
      Tensor t(dtype, {static_cast<int64_t>(to.size())});
      for (size_t d = 0; d < to.size(); ++d) {
        const int64_t v = d == 0 ? -1 : to[d];
        if (dtype == DType::kInt32)
          t.data<int32_t>()[d] = static_cast<int32_t>(v);
        else
          t.data<int64_t>()[d] = v;
      }
      plan.slice_shapes[n] = t;
    }
    return true;
  }

  const Graph& graph_;
  const std::vector<std::vector<TensorInfo>>& infos_;
  std::vector<std::vector<Rows>> rows_;
  const Node* node_ = nullptr;
};

// Sets plan.tail_step and plan.tail_inputs (see PerImagePlan) for a per-image graph, by the
// rule of kTailImageBytes.
void plan_grouped_tail(const Graph& graph, std::span<const int> steps,
                       const std::vector<std::vector<TensorInfo>>& infos,
                       std::span<const int> feed_nodes, std::span<const Endpoint> fetches,
                       const Planner& planner, PerImagePlan& plan) {
  const int64_t batch = feed_nodes.empty() ? -1 : infos[feed_nodes[0]][0].shape.dim(0);
  if (batch < 1) return;
  auto output_bytes = [&](int n) {  // per image, -1 when unknown
    int64_t sum = 0;
    for (const TensorInfo& o : infos[n]) {
      const int64_t bytes = known_bytes(o);
      if (bytes < 0) return int64_t{-1};
      sum += bytes / batch;
    }
    return sum;
  };
  auto weight_bytes = [&](int n) {
    int64_t sum = 0;
    for (const Endpoint& e : graph.node(n).inputs) {
      const TensorInfo& in = infos[e.node][e.index];
      if (in.value) sum += std::max<int64_t>(known_bytes(in), 0);
    }
    return sum;
  };
  // The last steps whose outputs are small, from the first whose weights outweigh its output.
  auto small = [&](int n) {
    const int64_t bytes = output_bytes(n);
    return bytes >= 0 && bytes <= kTailImageBytes;
  };
  size_t tail = steps.size();
  while (tail > 0 && small(steps[tail - 1])) --tail;
  while (tail < steps.size() && weight_bytes(steps[tail]) <= output_bytes(steps[tail])) ++tail;
  int64_t weights = 0;
  for (size_t s = tail; s < steps.size(); ++s) weights += weight_bytes(steps[s]);
  if (tail == steps.size() || weights < kTailWeightBytes) return;
  std::set<int> head(feed_nodes.begin(), feed_nodes.end());
  head.insert(steps.begin(), steps.begin() + static_cast<std::ptrdiff_t>(tail));
  std::vector<Endpoint> inputs;
  auto add = [&](Endpoint e) {
    if (head.contains(e.node) && !infos[e.node][e.index].value &&
        std::find(inputs.begin(), inputs.end(), e) == inputs.end())
      inputs.push_back(e);
  };
  for (size_t s = tail; s < steps.size(); ++s)
    for (const Endpoint& e : graph.node(steps[s]).inputs) add(e);
  for (const Endpoint& e : fetches) add(e);
  for (const Endpoint& e : inputs)
    if (planner.rows(e) != Rows::kPerImage) return;
  plan.tail_step = tail;
  plan.tail_inputs = std::move(inputs);
}

}  // namespace

PerImagePlan plan_per_image(const Graph& graph, std::span<const int> steps,
                            const std::vector<std::vector<TensorInfo>>& infos,
                            std::span<const int> feed_nodes, std::span<const Endpoint> fetches) {
  PerImagePlan plan;
  Planner planner(graph, infos);
  for (int f : feed_nodes) {
    const TensorInfo& info = infos[f][0];
    if (info.dtype == DType::kString || (info.shape.known_rank && info.shape.rank() == 0)) {
      plan.blocker = str_cat("feed '", graph.node(f).name, "' has no batch dimension");
      return plan;
    }
    planner.set_fed(f);
  }
  for (int n : steps) {
    plan.blocker = planner.step(n, plan);
    if (!plan.blocker.empty()) return plan;
  }
  for (const Endpoint& e : fetches) {
    if (planner.rows(e) != Rows::kPerImage) {
      plan.blocker = str_cat("fetch '", graph.endpoint_name(e), "' is not per image");
      return plan;
    }
  }
  plan_grouped_tail(graph, steps, infos, feed_nodes, fetches, planner, plan);
  return plan;
}

}  // namespace poet
