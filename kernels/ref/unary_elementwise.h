// Reference element-wise float functions: Rsqrt, Relu, Relu6.
#pragma once

#include <span>

namespace poet::kernels::ref {

enum class UnaryOp { kRsqrt, kRelu, kRelu6 };

// out[i] = f(in[i]). Rsqrt is 1 / sqrt(x) correctly rounded per step (TensorFlow's SIMD
// path may differ in the last bit); Relu and Relu6 are kernels::activate.
void unary_elementwise(UnaryOp op, std::span<const float> in, std::span<float> out);

}  // namespace poet::kernels::ref
