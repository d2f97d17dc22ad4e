// Reference 2-D convolution: the plain loop nest every fast Conv2D kernel is tested against.
#pragma once

#include <span>

#include "kernels/conv_shape.h"

namespace poet::kernels::ref {

// output[n,y,x,o] = act(bias[o] + sum over ky,kx,c of
//                       input[n, y*sh + ky*dh - pad_top, x*sw + kx*dw - pad_left, c] *
//                       filter[ky,kx,c,o]),
// with input cells outside the image counting as zero. `bias` may be empty. Output pixels lie
// shape.out_pixel_stride() floats apart; the floats between them are left as they are.
void conv2d(const ConvShape& shape, std::span<const float> input, std::span<const float> filter,
            std::span<const float> bias, Activation act, std::span<float> output);

}  // namespace poet::kernels::ref
