// Reference max and average pooling over NHWC windows: the oracles for fast pooling kernels.
// `shape` describes the window as for a convolution, with out_c == in_c and k_h, k_w the
// window size; dilations must be 1. Output pixels lie shape.out_pixel_stride() floats apart.
#pragma once

#include <span>

#include "kernels/conv_shape.h"

namespace poet::kernels::ref {

// The largest input cell of each window; cells outside the image are ignored (never zero).
void max_pool(const ConvShape& shape, std::span<const float> input, std::span<float> output);

// The mean of each window over the cells inside the image only, as TensorFlow's AvgPool:
// with SAME padding an edge window is divided by its count of real cells, not by k_h * k_w.
void avg_pool(const ConvShape& shape, std::span<const float> input, std::span<float> output);

}  // namespace poet::kernels::ref
