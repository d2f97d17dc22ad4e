// Conv2D and DepthwiseConv2dNative on oneDNN: one primitive per layer shape, built once with
// the filter reordered into oneDNN's preferred blocked layout, then run on NHWC tensors.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "kernels/conv_shape.h"

namespace poet::kernels::onednn {

enum class ConvKind {
  kDense,      // filter HWIO [k_h, k_w, in_c, out_c]
  kDepthwise,  // filter [k_h, k_w, in_c, multiplier], out_c = in_c * multiplier
};

class Conv2dPrimitive {
 public:
  // Same arithmetic as kernels::ref::conv2d (and the depthwise reference): `shape` fixes batch,
  // sizes, strides, dilations and the leading padding (TensorFlow's SAME puts any extra cell at
  // the bottom/right, which this derives from the output size). `filter` is read only here;
  // `bias` may be empty. Throws poet::Error naming the layer when oneDNN rejects it.
  Conv2dPrimitive(const ConvShape& shape, ConvKind kind, std::span<const float> filter,
                  std::span<const float> bias, Activation act);
  ~Conv2dPrimitive();
  Conv2dPrimitive(Conv2dPrimitive&&) noexcept;
  Conv2dPrimitive& operator=(Conv2dPrimitive&&) noexcept;

  // input: NHWC [batch, in_h, in_w, in_c]; output: NHWC [batch, out_h, out_w, out_c]. Safe to
  // call from several threads at once.
  void run(std::span<const float> input, std::span<float> output) const;

  const ConvShape& shape() const { return shape_; }

 private:
  struct Impl;
  ConvShape shape_;
  std::string layer_;           // describe(shape_), for error messages
  std::unique_ptr<Impl> impl_;  // null when the output is empty
};

}  // namespace poet::kernels::onednn
