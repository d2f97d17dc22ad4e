// What Conv2D and DepthwiseConv2dNative (and the _Fused forms the optimiser makes of them)
// share: their attributes, shape inference, and the oneDNN primitive built once per layer shape
// while the filter (and fused bias) are constants. Each op adds its own native and reference
// kernels and its FLOP count.
#pragma once

#include <atomic>

#include "engine/op.h"
#include "engine/ops/conv_attrs.h"
#include "engine/ops/prepared_cache.h"
#include "kernels/onednn/conv2d.h"

namespace poet::ops {

class Convolution : public Op {
 public:
  // Inputs x (NHWC), filter (HWIO, or [kh, kw, in_c, multiplier] for depthwise) and, when
  // fused, a bias with one value per output channel.
  void infer(InferContext& ctx) const final;

 protected:
  Convolution(const Node& node, const OpOptions& options, bool fused,
              kernels::onednn::ConvKind kind);

  // The layer's shape for this run's input and filter.
  kernels::ConvShape conv_shape(const ComputeContext& ctx) const;
  // The fused bias, empty when there is none.
  std::span<const float> bias(const ComputeContext& ctx) const;
  // With the oneDNN backend and a constant filter, runs the layer's primitive (built on first
  // use for this shape) and returns true; false leaves the work to the caller.
  bool run_onednn(ComputeContext& ctx, const kernels::ConvShape& s) const;
  const WindowAttrs& attrs() const { return attrs_; }

  const Backend backend_;
  const bool fused_;
  const kernels::Activation activation_;
  // Set when the filter or bias is fed: nothing prepared from them can be reused.
  mutable std::atomic<bool> filter_varies_ = false;

 private:
  WindowAttrs attrs_;
  kernels::onednn::ConvKind kind_;
  // The primitive bakes in the bias too: in a frozen graph it is as constant as the filter,
  // and the optimiser made both together.
  PreparedCache<kernels::ConvShape, kernels::onednn::Conv2dPrimitive> onednn_;
};

}  // namespace poet::ops
