// Makes chains of convolutions one _FusedConvChain node (engine/ops/conv_chain.cc), which the
// native backend runs a few rows at a time through every layer
// (kernels/x86/conv_chain_nhwc.h): the tensors between the layers never go out to L3 and back.
//
// First the pairs: a _FusedDepthwiseConv2dNative of multiplier 1 and the 1x1, stride-1
// _FusedConv2D that alone reads it, where the 1x1 filter takes at most kMaxFilterBytes: each
// run of rows reads all of it again, which a small filter serves from L2. Measured on the Zen 5
// host, one thread, each pair with its input just written and the rest cold (as in a graph):
// MobileNet v1 1.0's pairs to 64-256 channels (filters of 8-256 KiB) 4-17% faster, its 14x14
// pairs to 512 channels (1 MiB) only 1-2%, and those to 1024 channels (2 and 4 MiB) 2-8%
// slower. In the graph at batch 1 on 2 threads, fusing the 14x14 pairs too made those layers
// 5% slower with runs of 4 rows, 1% with a thread's whole band as one run.
//
// Then the layer before a chain joins it when the tensor between them is larger than
// kMinStreamBytes per image (an L2) and the chain's filters would still take at most
// kMaxChainFilterBytes (every run of rows reads them all again): another chain that alone
// feeds it, or a _FusedConv2D of a small filter with a stride or a 1x1 window (a stride-1 3x3
// or 5x5 may run Winograd, which a chain's direct kernel would give up). MobileNet v1 1.0's
// stem and first two pairs, which write 1.6, 3.2 and 1.6 MB per 224x224 image, become one
// chain of 47 KiB of filters. Measured on the Zen 5 host at batch 1: those layers took
// 0.47-0.55 ms a run on 2 threads instead of 0.54-0.82, and 0.87-0.96 on one thread instead of
// 1.02-1.11, but the layers after them gave part of that back (presumably the chain's windows,
// about 0.6 MB a thread, take the L2 that held the chain's output): the whole graph about 2%
// faster on 2 threads, level on one and at batch 32. Chains that also took the next pair (115
// KiB of filters) or two (243 KiB) ran the graph slower than the pairs alone
// (docs/performance-log.md, "MobileNet v1 1.0's stem and first two pairs as one chain").
#include <string>
#include <vector>

#include "engine/ops/conv_attrs.h"
#include "engine/optimize/optimize.h"

namespace poet::optimize {
namespace {

constexpr int64_t kMaxFilterBytes = 256 * 1024;
constexpr int64_t kMinStreamBytes = 1 << 20;
constexpr int64_t kMaxChainFilterBytes = 64 * 1024;

// A _FusedDepthwiseConv2dNative of a constant filter of multiplier 1, a constant bias and no
// dilation (the chain's kernel reads adjacent pixels).
bool fusable_depthwise(const Rewrite& rw, const Node& node) {
  if (node.op != "_FusedDepthwiseConv2dNative" || node.inputs.size() != 3) return false;
  const Tensor* filter = rw.constant(node.inputs[1]);
  const ops::WindowAttrs a = ops::read_window_attrs(node, /*pooling=*/false);
  return filter && filter->rank() == 4 && filter->dim(3) == 1 && rw.constant(node.inputs[2]) &&
         a.dilation_h == 1 && a.dilation_w == 1;
}

// Whether `e` is known to have 4 dimensions and how many channels: a chain's layers check
// their filters against their inputs' channels (engine/ops/conv_chain.cc), and a graph may
// leave an input's shape open.
bool known_channels(const Rewrite& rw, Endpoint e) {
  const PartialShape& s = rw.infos[e.node][e.index].shape;
  return s.known_rank && s.rank() == 4 && s.dim(3) >= 0;
}

// A 1x1 convolution (Rewrite::pointwise_filter) of a small filter reading the depthwise layer,
// with a constant bias.
bool fusable_pointwise(const Rewrite& rw, const Node& node, int slot) {
  const Tensor* filter = rw.pointwise_filter(node, slot);
  return filter && filter->byte_size() <= kMaxFilterBytes && rw.constant(node.inputs[2]);
}

// A _FusedConv2D of a small constant filter and a constant bias, with no dilation and a stride
// or a 1x1 window.
bool chainable_conv(const Rewrite& rw, const Node& node) {
  if (node.op != "_FusedConv2D" || node.inputs.size() != 3 || !rw.constant(node.inputs[2]))
    return false;
  const Tensor* filter = rw.constant(node.inputs[1]);
  if (!filter || filter->rank() != 4 || filter->byte_size() > kMaxFilterBytes) return false;
  const ops::WindowAttrs a = ops::read_window_attrs(node, /*pooling=*/false);
  const bool strided = a.stride_h > 1 || a.stride_w > 1;
  return a.dilation_h == 1 && a.dilation_w == 1 &&
         (strided || (filter->dim(0) == 1 && filter->dim(1) == 1));
}

// `node`'s attributes as a chain's layer `i` (under "i/"), after the chain's own.
void add_layer(Node& chain, const Node& layer, std::string op) {
  auto& ops = std::get<std::vector<std::string>>(chain.attrs["layer_ops"]);
  const std::string prefix = std::to_string(ops.size()) + "/";
  for (const auto& [key, value] : layer.attrs) chain.attrs[prefix + key] = value;
  ops.push_back(std::move(op));
}

// The op a fused convolution node runs as a chain's layer.
std::string layer_op(const Node& conv) {
  return conv.op == "_FusedDepthwiseConv2dNative" ? "DepthwiseConv2dNative" : "Conv2D";
}

// `chain` (a chain, or one convolution) becomes the chain of `layers` (a chain's, or one
// convolution's) and then its own; its name and readers stay.
void prepend(Node& chain, const Node& layers) {
  Node joined;
  joined.attrs["layer_ops"] = std::vector<std::string>{};
  for (const Node* part : {&layers, static_cast<const Node*>(&chain)}) {
    if (part->op == "_FusedConvChain") {
      for (int i = 0; i < static_cast<int>(ops::chain_ops(*part).size()); ++i) {
        const Node layer = ops::chain_layer(*part, i);
        add_layer(joined, layer, layer.op);
      }
    } else {
      add_layer(joined, *part, layer_op(*part));
    }
  }
  chain.op = "_FusedConvChain";
  std::vector<Endpoint> inputs = layers.inputs;
  inputs.insert(inputs.end(), chain.inputs.begin() + 1, chain.inputs.end());
  chain.inputs = std::move(inputs);
  chain.attrs = std::move(joined.attrs);
}

void fuse_pairs(Rewrite& rw) {
  const size_t original = rw.nodes.size();
  for (size_t d = 0; d < original; ++d) {
    if (!rw.alive[d] || !fusable_depthwise(rw, rw.nodes[d]) ||
        !known_channels(rw, rw.nodes[d].inputs[0]))
      continue;
    const auto readers = rw.reader_counts();
    int slot = 0;
    const int p = rw.sole_reader(readers, static_cast<int>(d), slot);
    if (p < 0 || !fusable_pointwise(rw, rw.nodes[p], slot)) continue;
    // The 1x1 node becomes the chain; nothing reads the depthwise node any more (prune drops
    // its weights).
    prepend(rw.nodes[p], rw.nodes[d]);
    rw.alive[d] = 0;
  }
}

// The bytes of a convolution's or a chain's filters (inputs 1, 3, 5...; the biases are small).
int64_t filter_bytes(const Rewrite& rw, const Node& node) {
  int64_t bytes = 0;
  for (size_t i = 1; i < node.inputs.size(); i += 2)
    if (const Tensor* filter = rw.constant(node.inputs[i])) bytes += filter->byte_size();
  return bytes;
}

// Bytes of one image of output 0 of `n`, or 0 when unknown.
int64_t image_bytes(const Rewrite& rw, int n) {
  const PartialShape& s = rw.infos[n][0].shape;
  if (s.rank() != 4 || s.dim(1) < 0 || s.dim(2) < 0 || s.dim(3) < 0) return 0;
  return s.dim(1) * s.dim(2) * s.dim(3) * int64_t{sizeof(float)};
}

// In topological order, so a chain has taken in its own producers before its reader looks at it.
void extend_chains(Rewrite& rw) {
  for (size_t c = 0; c < rw.nodes.size(); ++c) {
    if (!rw.alive[c] || rw.nodes[c].op != "_FusedConvChain") continue;
    const int p = rw.nodes[c].inputs[0].node;
    const auto readers = rw.reader_counts();
    int slot = 0;
    if (rw.nodes[c].inputs[0].index != 0 ||
        rw.sole_reader(readers, p, slot) != static_cast<int>(c) ||
        image_bytes(rw, p) <= kMinStreamBytes)
      continue;
    const Node& before = rw.nodes[p];
    if (filter_bytes(rw, rw.nodes[c]) + filter_bytes(rw, before) > kMaxChainFilterBytes) continue;
    if (before.op != "_FusedConvChain" && !chainable_conv(rw, before)) continue;
    if (!known_channels(rw, before.inputs[0])) continue;
    prepend(rw.nodes[c], before);
    rw.alive[p] = 0;  // nothing reads it any more
  }
}

}  // namespace

void chain_convolutions(Rewrite& rw) {
  fuse_pairs(rw);
  extend_chains(rw);
}

}  // namespace poet::optimize
