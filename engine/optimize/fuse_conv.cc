// Folds what follows a convolution into it: per-channel scales into the filter, shifts into a
// bias, and a trailing Relu / Relu6 into the kernel's epilogue. Every batch normalisation at
// inference time is such a scale and shift, so Inception's Conv2D + BatchNormWithGlobal-
// Normalization + Relu and MobileNet's Conv2D + Mul + Add + Relu6 each become one node.
#include <algorithm>

#include "engine/optimize/batch_norm.h"
#include "engine/optimize/optimize.h"

namespace poet::optimize {
namespace {

// The scale and shift so far: y = conv(x, filter * scale) + bias, then the activation.
struct Epilogue {
  std::vector<float> scale, bias;
  std::string activation;     // "", "Relu" or "Relu6"
  std::vector<int> absorbed;  // the nodes folded in, in order
};

// A constant that broadcasts along the channel axis only: a scalar, [C] or [1,..,1,C], of rank
// at most the convolution's 4 (one of rank 5 would make the result rank 5).
const Tensor* channel_vector(const Rewrite& rw, Endpoint e, int64_t channels) {
  const Tensor* t = rw.constant(e);
  if (!t || t->dtype() != DType::kFloat32 || t->rank() > 4) return nullptr;
  if (t->num_elements() != 1 && t->num_elements() != channels) return nullptr;
  for (int i = 0; i + 1 < t->rank(); ++i)
    if (t->dim(i) != 1) return nullptr;
  return t;
}

float at(const Tensor& t, int64_t c) { return t.data<float>()[t.num_elements() == 1 ? 0 : c]; }

// Both float inputs of a batch norm's statistics, as constants of C elements.
bool batch_norm_stats(const Rewrite& rw, const Node& node, std::span<const int> slots,
                      int64_t channels, std::vector<const Tensor*>& out) {
  for (int slot : slots) {
    const Tensor* t = channel_vector(rw, node.inputs.at(slot), channels);
    if (!t) return false;
    out.push_back(t);
  }
  return true;
}

// Tries to fold `node`, which reads the chain's current output at input `slot`, into `ep`.
bool absorb(const Rewrite& rw, const Node& node, int slot, int64_t channels, Epilogue& ep) {
  const std::string& op = node.op;
  if (!ep.activation.empty()) return false;
  if (op == "Relu" || op == "Relu6") {
    ep.activation = op;
    return true;
  }
  bool binary = op == "Mul" || op == "Add" || op == "AddV2" || op == "BiasAdd" || op == "Sub";
  if (binary && node.inputs.size() == 2) {
    if (op == "Sub" && slot != 0) return false;  // c - x flips the sign of x
    const Tensor* c = channel_vector(rw, node.inputs[1 - slot], channels);
    if (!c) return false;
    for (int64_t o = 0; o < channels; ++o) {
      float v = at(*c, o);
      if (op == "Mul") {
        ep.scale[o] *= v;
        ep.bias[o] *= v;
      } else {
        ep.bias[o] += op == "Sub" ? -v : v;
      }
    }
    return true;
  }
  std::vector<const Tensor*> s;
  if (op == "BatchNormWithGlobalNormalization" && slot == 0) {
    // inputs: t, mean, variance, beta, gamma
    const int slots[] = {1, 2, 3, 4};
    if (!batch_norm_stats(rw, node, slots, channels, s)) return false;
    bool use_gamma = node.attr_bool("scale_after_normalization", false);
    float eps = node.attr_float("variance_epsilon", 0.001f);
    for (int64_t o = 0; o < channels; ++o)
      fold_batch_norm(
          ep.scale[o], ep.bias[o],
          {use_gamma ? at(*s[3], o) : 1.f, at(*s[2], o), at(*s[0], o), at(*s[1], o), eps});
    return true;
  }
  if ((op == "FusedBatchNorm" || op == "FusedBatchNormV3") && slot == 0 &&
      !node.attr_bool("is_training", true)) {
    // inputs: x, scale, offset, mean, variance
    const int slots[] = {1, 2, 3, 4};
    if (!batch_norm_stats(rw, node, slots, channels, s)) return false;
    float eps = node.attr_float("epsilon", 0.0001f);
    for (int64_t o = 0; o < channels; ++o)
      fold_batch_norm(ep.scale[o], ep.bias[o],
                      {at(*s[0], o), at(*s[1], o), at(*s[2], o), at(*s[3], o), eps});
    return true;
  }
  return false;
}

// Replaces the chain's last node with the fused convolution.
void emit(Rewrite& rw, int conv, const Epilogue& ep, const Tensor& filter) {
  int last = ep.absorbed.back();
  Node fused = rw.nodes[conv];
  fused.name = rw.nodes[last].name;
  fused.op = fused.op == "Conv2D" ? "_FusedConv2D" : "_FusedDepthwiseConv2dNative";

  Tensor w = scale_output_channels(filter, ep.scale);
  Tensor b = Tensor::from_floats({static_cast<int64_t>(ep.bias.size())}, ep.bias);
  auto constant = [&](const std::string& suffix, Tensor value) {
    Node c;
    c.name = unused_name(fused.name + suffix, [&](const std::string& name) {
      return std::ranges::any_of(rw.nodes, [&](const Node& n) { return n.name == name; });
    });
    c.op = "Const";
    c.attrs = {{"dtype", DType::kFloat32}, {"value", value}};
    TensorInfo info{DType::kFloat32, PartialShape(value.shape()), value};
    return rw.add(std::move(c), {info});
  };
  fused.inputs = {
      rw.nodes[conv].inputs[0], {constant("/fused_filter", w), 0}, {constant("/fused_bias", b), 0}};
  std::vector<std::string> ops = {"BiasAdd"};
  if (!ep.activation.empty()) ops.push_back(ep.activation);
  fused.attrs["fused_ops"] = ops;
  fused.attrs["num_args"] = int64_t{1};
  fused.attrs["epsilon"] = 0.f;
  rw.nodes[last] = std::move(fused);
  rw.alive[conv] = 0;
  for (size_t i = 0; i + 1 < ep.absorbed.size(); ++i) rw.alive[ep.absorbed[i]] = 0;
}

}  // namespace

void fuse_conv(Rewrite& rw) {
  size_t original = rw.nodes.size();
  for (size_t n = 0; n < original; ++n) {
    const Node& conv = rw.nodes[n];
    if (!rw.alive[n] || (conv.op != "Conv2D" && conv.op != "DepthwiseConv2dNative")) continue;
    if (!is_known_op("_Fused" + conv.op)) continue;
    const Tensor* filter = rw.constant(conv.inputs.at(1));
    int64_t channels = rw.infos[n].at(0).shape.dim(3);
    if (!filter || filter->dtype() != DType::kFloat32 || channels <= 0) continue;
    Epilogue ep;
    ep.scale.assign(channels, 1.f);
    ep.bias.assign(channels, 0.f);
    auto readers = rw.reader_counts();
    int current = static_cast<int>(n), slot = 0;
    for (int next; (next = rw.sole_reader(readers, current, slot)) >= 0; current = next) {
      // The fused node has one output, so it cannot stand for one whose others are read.
      if (Rewrite::other_outputs_read(readers, next)) break;
      if (!absorb(rw, rw.nodes[next], slot, channels, ep)) break;
      ep.absorbed.push_back(next);
    }
    if (ep.absorbed.empty()) continue;
    const Endpoint source = conv.inputs[1];
    emit(rw, static_cast<int>(n), ep, *filter);
    // The unscaled filter is dead when this convolution was its only reader: free it now
    // (the Rewrite may hold the last reference) rather than when the graph is compacted.
    if (readers[source.node][source.index] == 1) {
      rw.alive[source.node] = 0;
      rw.nodes[source.node].attrs.erase("value");
      rw.infos[source.node][source.index].value.reset();
    }
  }
}

}  // namespace poet::optimize
