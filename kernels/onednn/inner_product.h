// MatMul with a constant right-hand side on oneDNN's inner product: [m, k] x [k, n] (+ bias,
// + activation) -> [m, n]. The weights are reordered once into oneDNN's preferred layout.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "kernels/conv_shape.h"

namespace poet::kernels::onednn {

struct MatMulShape {
  int64_t m = 0, k = 0, n = 0;
  friend bool operator==(const MatMulShape&, const MatMulShape&) = default;
};

class InnerProductPrimitive {
 public:
  // weights: [k, n] row-major (MatMul's b), or [n, k] when `transpose_b` (MatMul's
  // transpose_b=true); read only here. `bias` ([n]) may be empty.
  InnerProductPrimitive(MatMulShape shape, std::span<const float> weights, bool transpose_b,
                        std::span<const float> bias, Activation act);
  ~InnerProductPrimitive();
  InnerProductPrimitive(InnerProductPrimitive&&) noexcept;
  InnerProductPrimitive& operator=(InnerProductPrimitive&&) noexcept;

  // input: [m, k] row-major; output: [m, n] row-major. Safe to call from several threads.
  void run(std::span<const float> input, std::span<float> output) const;

  const MatMulShape& shape() const { return shape_; }

 private:
  struct Impl;
  MatMulShape shape_;
  std::string layer_;           // for error messages
  std::unique_ptr<Impl> impl_;  // null when the output is empty
};

}  // namespace poet::kernels::onednn
