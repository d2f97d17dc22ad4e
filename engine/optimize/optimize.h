// Graph rewrites that make a pruned graph cheaper to run without changing what it computes.
// They run once at load, after shape inference and constant folding, on nodes without control
// inputs (every kept CheckNumerics, the one op with an effect, is run instead), in this order:
//   1. materialise: a node whose value is known at load becomes a Const (MobileNet's
//      unfused batch-norm arithmetic on constants collapses into one per-channel vector);
//   2. forward: Identity, unfed PlaceholderWithDefault and (unless kept) CheckNumerics are
//      bypassed, their readers reading the source tensor directly;
//   3. fuse (fuse_conv.cc): Conv2D / DepthwiseConv2dNative followed by per-channel scale and
//      shift (Mul, Add, BiasAdd, Sub, BatchNormWithGlobalNormalization, FusedBatchNorm) and a
//      Relu / Relu6 becomes one `_FusedConv2D` / `_FusedDepthwiseConv2dNative` node (TensorFlow's
//      own names for these fusions) on folded weights and bias;
//   4. pool after conv (pool_after_conv.cc): a stride-1 SAME AvgPool read only by a 1x1
//      fused convolution moves after it, the convolution's activation after the pool
//      (Inception's pool towers then average 32-192 channels instead of 192-2048);
//   5. convolution chains (conv_chain.cc, native backend only): a fused depthwise
//      convolution and the small 1x1 convolution that alone reads it, and the layers before
//      them whose outputs are too large for the caches (MobileNet's stem and first pairs),
//      become one `_FusedConvChain` node, run a few rows at a time through every layer;
//   6. prune: nodes nothing needs any more are dropped.
#pragma once

#include <span>
#include <vector>

#include "engine/graph.h"
#include "engine/op.h"

namespace poet::optimize {

struct Options {
  bool keep_check_numerics = false;  // CheckNumerics nodes stay (and so block fusion across them)
  bool fuse = true;                  // steps 3 and 4
  // Step 5: only for the native kernels (the node has no oneDNN form).
  bool fuse_depthwise_pointwise = false;
};

// The graph being rewritten: nodes by index, dead ones marked, plus the endpoints that must
// survive (fetches) and the nodes that must stay where they are (feeds).
struct Rewrite {
  std::vector<Node> nodes;
  std::vector<char> alive;
  std::vector<std::vector<TensorInfo>> infos;  // load-time outputs, per node
  std::vector<Endpoint> fetches;
  std::vector<int> feeds;
  std::vector<int> roots;  // nodes that run though nothing reads them: kept CheckNumerics

  int add(Node node, std::vector<TensorInfo> outputs);
  const Tensor* constant(Endpoint e) const;  // the Const value behind e, or null
  // For each live node's outputs: how many data inputs of live nodes, and fetches, read it.
  std::vector<std::vector<int>> reader_counts() const;
  // The only reader of output 0 of `n` (no other output read, not fetched) and the input slot
  // it reads it at, or -1. `readers` is reader_counts().
  int sole_reader(const std::vector<std::vector<int>>& readers, int n, int& slot) const;
  // Whether an output of `n` other than output 0 is read (a FusedBatchNorm's statistics).
  static bool other_outputs_read(const std::vector<std::vector<int>>& readers, int n);
  // Every live node's input, and every fetch, that reads `from` reads `to` instead.
  void redirect(Endpoint from, Endpoint to);
  // The constant 1x1 filter of `node` when it is a _FusedConv2D with stride 1 and no dilation
  // reading, at input `slot`, its image (slot 0); null otherwise.
  const Tensor* pointwise_filter(const Node& node, int slot) const;
};

void fuse_conv(Rewrite& rw);
void pool_after_conv(Rewrite& rw);
void chain_convolutions(Rewrite& rw);

// Rewrites `graph` (nodes in topological order; `infos` from load-time inference). Feed
// node indices and fetch endpoints are updated to the returned graph's numbering. Both are
// taken by value: a caller that moves them in (and holds no other reference to the weights)
// lets a filter replaced by its batch-norm-folded copy be freed at once, so loading never
// holds two copies of all the weights.
Graph run(Graph graph, std::vector<std::vector<TensorInfo>> infos, std::vector<int>& feeds,
          std::vector<Endpoint>& fetches, const Options& options);

}  // namespace poet::optimize
