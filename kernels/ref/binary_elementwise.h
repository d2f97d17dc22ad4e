// Reference element-wise binary arithmetic with NumPy/TensorFlow broadcasting: the shapes are
// aligned at their last axis, and an axis of size 1 (or a missing leading axis) repeats.
#pragma once

#include <cstdint>
#include <span>

namespace poet::kernels::ref {

enum class BinaryOp { kAdd, kSub, kMul, kDiv, kMaximum, kMinimum };

// out[i] = a[ia] op b[ib], where ia and ib are i's multi-index with each broadcast axis
// pinned to 0. `out_shape` must be the broadcast of `a_shape` and `b_shape` (the caller
// checks). T is float or int32_t; integers wrap on overflow like TensorFlow's, and kDiv is
// for float only. Maximum and Minimum of a float NaN give NaN, as in TensorFlow.
template <class T>
void binary_elementwise(BinaryOp op, std::span<const int64_t> a_shape, std::span<const T> a,
                        std::span<const int64_t> b_shape, std::span<const T> b,
                        std::span<const int64_t> out_shape, std::span<T> out);

}  // namespace poet::kernels::ref
