// Folding inference-time batch normalisation into the convolution before it. The arithmetic is
// shared by the load-time fusion (fuse_conv.cc), which folds for running, and by the
// graph-level pass below, which folds for writing a graph out (`poet convert
// --fold_batch_norm`).
#pragma once

#include <cmath>
#include <span>
#include <string>

#include "engine/graph.h"

namespace poet::optimize {

// One channel of a batch norm: y = (x - mean) * gamma / sqrt(variance + epsilon) + beta.
struct BatchNormChannel {
  float gamma, beta, mean, variance, epsilon;
};

// Composes the channel's affine map x * scale + bias with the batch norm after it, in place.
inline void fold_batch_norm(float& scale, float& bias, const BatchNormChannel& bn) {
  float k = bn.gamma / std::sqrt(bn.variance + bn.epsilon);
  scale *= k;
  bias = (bias - bn.mean) * k + bn.beta;
}

// A copy of a float32 filter whose last dimension is the output channel (Conv2D's HWIO; a
// depthwise filter [kh, kw, in, multiplier] flattened the same way) with channel c times
// scale[c].
Tensor scale_output_channels(const Tensor& filter, std::span<const float> scale);

// Rewrites every Conv2D / DepthwiseConv2dNative (NHWC, constant filter) followed by an optional
// BiasAdd and an inference FusedBatchNorm / FusedBatchNormV3 on constant statistics into the
// convolution on folded weights plus one BiasAdd that takes the batch norm's name, so readers
// of the batch norm read the same values. Chains whose intermediate tensors or filter are
// read elsewhere are left as they are, as are those whose intermediate tensors are among
// `outputs` (tensor names a model's user reads: a convolution that is an output keeps its
// values). The statistics Consts left unread are dropped. `folded`, when given, receives the
// number of batch norms folded.
Graph fold_batch_norms(const Graph& graph, int* folded = nullptr,
                       std::span<const std::string> outputs = {});

}  // namespace poet::optimize
