#include "kernels/ref/unary_elementwise.h"

#include <cmath>

#include "kernels/conv_shape.h"

namespace poet::kernels::ref {

void unary_elementwise(UnaryOp op, std::span<const float> in, std::span<float> out) {
  for (size_t i = 0; i < in.size(); ++i) {
    switch (op) {
      case UnaryOp::kRsqrt:
        out[i] = 1.f / std::sqrt(in[i]);
        break;
      case UnaryOp::kRelu:
        out[i] = activate(in[i], Activation::kRelu);
        break;
      case UnaryOp::kRelu6:
        out[i] = activate(in[i], Activation::kRelu6);
        break;
    }
  }
}

}  // namespace poet::kernels::ref
