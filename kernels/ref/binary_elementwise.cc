#include "kernels/ref/binary_elementwise.h"

#include <cmath>
#include <type_traits>
#include <vector>

#include "engine/error.h"

namespace poet::kernels::ref {
namespace {

float apply(BinaryOp op, float a, float b) {
  switch (op) {
    case BinaryOp::kAdd:
      return a + b;
    case BinaryOp::kSub:
      return a - b;
    case BinaryOp::kMul:
      return a * b;
    case BinaryOp::kDiv:
      return a / b;
    case BinaryOp::kMaximum:
      if (std::isnan(a) || std::isnan(b)) return std::isnan(a) ? a : b;
      return a < b ? b : a;
    case BinaryOp::kMinimum:
      if (std::isnan(a) || std::isnan(b)) return std::isnan(a) ? a : b;
      return b < a ? b : a;
  }
  return 0.f;
}

// Signed overflow is undefined in C++; TensorFlow's int32 arithmetic wraps, so compute in
// uint32 (modular) and convert back (also modular since C++20).
int32_t apply(BinaryOp op, int32_t a, int32_t b) {
  uint32_t ua = static_cast<uint32_t>(a), ub = static_cast<uint32_t>(b);
  switch (op) {
    case BinaryOp::kAdd:
      return static_cast<int32_t>(ua + ub);
    case BinaryOp::kSub:
      return static_cast<int32_t>(ua - ub);
    case BinaryOp::kMul:
      return static_cast<int32_t>(ua * ub);
    case BinaryOp::kMaximum:
      return a < b ? b : a;
    case BinaryOp::kMinimum:
      return b < a ? b : a;
    case BinaryOp::kDiv:
      break;  // rejected before the loop
  }
  return 0;
}

// Strides of `shape` seen through the output's axes: 0 where the axis is broadcast or
// missing, so that stepping along such an output axis stays on the same input element.
std::vector<int64_t> broadcast_strides(std::span<const int64_t> shape,
                                       std::span<const int64_t> out_shape) {
  const size_t rank = out_shape.size(), offset = rank - shape.size();
  std::vector<int64_t> strides(rank, 0);
  int64_t stride = 1;
  for (size_t d = rank; d-- > offset;) {
    int64_t dim = shape[d - offset];
    strides[d] = dim == 1 ? 0 : stride;
    stride *= dim;
  }
  return strides;
}

}  // namespace

template <class T>
void binary_elementwise(BinaryOp op, std::span<const int64_t> a_shape, std::span<const T> a,
                        std::span<const int64_t> b_shape, std::span<const T> b,
                        std::span<const int64_t> out_shape, std::span<T> out) {
  if (std::is_integral_v<T> && op == BinaryOp::kDiv)
    fail("binary_elementwise: integer division is not supported");
  const std::vector<int64_t> sa = broadcast_strides(a_shape, out_shape);
  const std::vector<int64_t> sb = broadcast_strides(b_shape, out_shape);
  const int rank = static_cast<int>(out_shape.size());
  std::vector<int64_t> index(rank, 0);
  int64_t ia = 0, ib = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = apply(op, a[ia], b[ib]);
    // Advance the output multi-index (last axis fastest) and both input offsets with it.
    for (int d = rank - 1; d >= 0; --d) {
      ++index[d];
      ia += sa[d];
      ib += sb[d];
      if (index[d] < out_shape[d]) break;
      ia -= sa[d] * out_shape[d];
      ib -= sb[d] * out_shape[d];
      index[d] = 0;
    }
  }
}

template void binary_elementwise<float>(BinaryOp, std::span<const int64_t>, std::span<const float>,
                                        std::span<const int64_t>, std::span<const float>,
                                        std::span<const int64_t>, std::span<float>);
template void binary_elementwise<int32_t>(BinaryOp, std::span<const int64_t>,
                                          std::span<const int32_t>, std::span<const int64_t>,
                                          std::span<const int32_t>, std::span<const int64_t>,
                                          std::span<int32_t>);

}  // namespace poet::kernels::ref
