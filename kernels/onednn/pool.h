// MaxPool and AvgPool on oneDNN, NHWC, with TensorFlow's padding: padded cells never win a max
// and are left out of an average's divisor (TensorFlow's AvgPool divides by the number of
// in-image cells in each window).
#pragma once

#include <memory>
#include <span>
#include <string>

#include "kernels/conv_shape.h"

namespace poet::kernels::onednn {

enum class PoolKind { kMax, kAverage };

class Pool2dPrimitive {
 public:
  // `shape` describes the window as a convolution would (k_h/k_w the window, out_c == in_c,
  // dilations 1); the bottom/right padding is derived from the output size as for Conv2D.
  Pool2dPrimitive(const ConvShape& shape, PoolKind kind);
  ~Pool2dPrimitive();
  Pool2dPrimitive(Pool2dPrimitive&&) noexcept;
  Pool2dPrimitive& operator=(Pool2dPrimitive&&) noexcept;

  // input: NHWC [batch, in_h, in_w, c]; output: NHWC [batch, out_h, out_w, c]. Safe to call
  // from several threads at once.
  void run(std::span<const float> input, std::span<float> output) const;

  const ConvShape& shape() const { return shape_; }

 private:
  struct Impl;
  ConvShape shape_;
  std::string layer_;           // for error messages
  std::unique_ptr<Impl> impl_;  // null when the output is empty
};

}  // namespace poet::kernels::onednn
