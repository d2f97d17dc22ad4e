// Reference depthwise 2-D convolution: the plain loop nest every fast depthwise kernel is
// tested against.
#pragma once

#include <span>

#include "kernels/conv_shape.h"

namespace poet::kernels::ref {

// Each input channel c is convolved with its own `multiplier` filters (multiplier =
// out_c / in_c); output channel c * multiplier + m is
//   output[n,y,x,c*M+m] = act(bias[c*M+m] + sum over ky,kx of
//                             input[n, y*sh + ky*dh - pad_top, x*sw + kx*dw - pad_left, c] *
//                             filter[ky,kx,c,m]),
// with input cells outside the image counting as zero. `bias` may be empty.
void depthwise_conv2d(const ConvShape& shape, std::span<const float> input,
                      std::span<const float> filter, std::span<const float> bias, Activation act,
                      std::span<float> output);

}  // namespace poet::kernels::ref
