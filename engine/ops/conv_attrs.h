// Attributes shared by Conv2D, DepthwiseConv2dNative, MaxPool and AvgPool (and their fused
// forms): padding, strides, dilations, ksize, data_format and fused_ops, read and checked once.
#pragma once

#include "engine/op.h"
#include "kernels/conv_shape.h"

namespace poet::ops {

struct WindowAttrs {
  kernels::Padding padding = kernels::Padding::kValid;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t k_h = 1, k_w = 1;  // pooling only (convolutions take it from the filter)
};

// Reads padding, strides, dilations (and ksize when `pooling`); only NHWC is accepted, and
// strides, dilations and windows must be 1 on the batch and channel axes.
WindowAttrs read_window_attrs(const Node& node, bool pooling);

// The epilogue of TensorFlow's fused convolutions (_FusedConv2D, _FusedDepthwiseConv2dNative,
// which poet's optimiser emits): `fused_ops` must be ["BiasAdd"] or ["BiasAdd", "Relu"|"Relu6"]
// with the bias as the one extra input.
kernels::Activation read_fused_activation(const Node& node);

// The layers' ops of the optimiser's _FusedConvChain (engine/ops/conv_chain.cc), its attribute
// `layer_ops`: one or more. Fails when missing.
const std::vector<std::string>& chain_ops(const Node& chain);
// Layer `i` of such a chain as a node of its own: its op and the chain's attributes under "i/"
// ("0/strides").
Node chain_layer(const Node& chain, int i);

// The epilogue of the optimiser's _FusedAvgPool: `fused_ops` must be ["Relu"] or ["Relu6"].
kernels::Activation read_fused_pool_activation(const Node& node);

// TensorFlow's op for an activation: "Relu", "Relu6", or "" for kNone.
std::string_view activation_op(kernels::Activation act);

// One spatial output size, -1 when the input size is not yet known.
int64_t window_output_size(int64_t in, int64_t k, int64_t stride, int64_t dilation,
                           kernels::Padding padding);

// The NHWC output of a k_h x k_w window over `in` (sizes -1 where not yet known), out_c
// channels. Fails, naming ctx's node, when a VALID window is larger than the input.
Shape window_output_shape(const InferContext& ctx, const PartialShape& in, int64_t k_h, int64_t k_w,
                          int64_t out_c, const WindowAttrs& attrs);

// The ConvShape for concrete NHWC input and window sizes.
kernels::ConvShape conv_shape(const Shape& input, int64_t k_h, int64_t k_w, int64_t out_c,
                              const WindowAttrs& attrs);

}  // namespace poet::ops
