// Reference Mean over a set of axes.
#pragma once

#include <cstdint>
#include <span>

namespace poet::kernels::ref {

// out holds the mean of `in` (shape `shape`) over `axes` (each in [0, rank), repeats
// allowed); the kept axes stay in order. Sums are accumulated in double; an empty reduction gives
// NaN (0/0), as in TensorFlow.
void mean(std::span<const int64_t> shape, std::span<const float> in, std::span<const int64_t> axes,
          std::span<float> out);

}  // namespace poet::kernels::ref
