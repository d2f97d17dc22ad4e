// Makes a _FusedDepthwiseConv2dNative of multiplier 1 and the 1x1, stride-1 _FusedConv2D that
// alone reads it one _FusedDepthwisePointwise node (engine/ops/depthwise_pointwise.cc), which
// the native backend runs a few rows at a time through both kernels: the depthwise output never
// goes out to L3 and back (MobileNet v1 1.0's first pair writes and reads 1.6 MB per image).
// Only where the 1x1 filter takes at most kMaxPointwiseWeightBytes: each run of rows reads all
// of it again, which a small filter serves from L2. Measured on the Zen 5 host, one thread,
// each pair with its input just written and the rest cold (as in a graph): MobileNet v1 1.0's
// pairs to 64-256 channels (filters of 8-256 KiB) 4-17% faster, its 14x14 pairs to 512 channels
// (1 MiB) only 1-2%, and those to 1024 channels (2 and 4 MiB) 2-8% slower. In the graph at
// batch 1 on 2 threads, fusing the 14x14 pairs too made those layers 5% slower with runs of 4
// rows, 1% with a thread's whole band as one run.
#include "engine/optimize/optimize.h"

namespace poet::optimize {
namespace {

constexpr int64_t kMaxPointwiseWeightBytes = 256 * 1024;

// A _FusedDepthwiseConv2dNative of a constant filter of multiplier 1 and a constant bias.
bool fusable_depthwise(const Rewrite& rw, const Node& node) {
  if (node.op != "_FusedDepthwiseConv2dNative" || node.inputs.size() != 3) return false;
  const Tensor* filter = rw.constant(node.inputs[1]);
  return filter && filter->rank() == 4 && filter->dim(3) == 1 && rw.constant(node.inputs[2]);
}

// A 1x1 convolution (Rewrite::pointwise_filter) of a small filter reading the depthwise layer,
// with a constant bias.
bool fusable_pointwise(const Rewrite& rw, const Node& node, int slot) {
  const Tensor* filter = rw.pointwise_filter(node, slot);
  return filter && filter->byte_size() <= kMaxPointwiseWeightBytes && rw.constant(node.inputs[2]);
}

}  // namespace

void fuse_depthwise_pointwise(Rewrite& rw) {
  const size_t original = rw.nodes.size();
  for (size_t d = 0; d < original; ++d) {
    if (!rw.alive[d] || !fusable_depthwise(rw, rw.nodes[d])) continue;
    const auto readers = rw.reader_counts();
    int slot = 0;
    const int p = rw.sole_reader(readers, static_cast<int>(d), slot);
    if (p < 0 || !fusable_pointwise(rw, rw.nodes[p], slot)) continue;
    // The 1x1 node becomes the pair (its readers and its name stay), with the depthwise
    // node's attributes; the depthwise node is left unread, for prune.
    Node& pair = rw.nodes[p];
    const Node& depthwise = rw.nodes[d];
    const auto pointwise_ops = pair.attrs.at("fused_ops");
    pair.op = "_FusedDepthwisePointwise";
    pair.inputs = {depthwise.inputs[0], depthwise.inputs[1], depthwise.inputs[2], pair.inputs[1],
                   pair.inputs[2]};
    pair.attrs = depthwise.attrs;
    pair.attrs["pointwise_fused_ops"] = pointwise_ops;
    pair.control_inputs.insert(pair.control_inputs.end(), depthwise.control_inputs.begin(),
                               depthwise.control_inputs.end());
  }
}

}  // namespace poet::optimize
