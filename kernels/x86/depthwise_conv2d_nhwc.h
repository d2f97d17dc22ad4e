// Fast NHWC depthwise convolution for x86 (AVX2+FMA or AVX-512), vectorised over channels.
//
//   depthwise_conv2d_nhwc(active_isa(), shape, input, filter, bias, Activation::kRelu6,
//                         output, pool);
//
// Channel multiplier 1 runs the SIMD kernels (any window, stride, dilation and padding; 3x3
// windows, MobileNet's, keep the filter in registers for the pixels whose window lies inside
// the image). Other multipliers, and Isa::kRef, run kernels::ref::depthwise_conv2d. Results
// match the reference up to float rounding (the kernels use fused multiply-adds).
#pragma once

#include <cstdint>
#include <span>

#include "kernels/conv_shape.h"
#include "kernels/x86/cpu_features.h"

namespace poet {
class ThreadPool;
}

namespace poet::kernels::x86 {

// True when `shape` runs on the SIMD kernels (multiplier 1) rather than the reference.
bool depthwise_conv2d_nhwc_vectorised(const ConvShape& shape);

// output = act(depthwise_conv(input, filter) + bias), like kernels::ref::depthwise_conv2d.
// `filter` is [k_h, k_w, in_c, out_c / in_c]; `bias` may be empty; `pool` may be null.
void depthwise_conv2d_nhwc(Isa isa, const ConvShape& shape, std::span<const float> input,
                           std::span<const float> filter, std::span<const float> bias,
                           Activation act, std::span<float> output, ThreadPool* pool);

// --- Interface between the driver and the per-ISA kernels (depthwise_conv2d_nhwc_<isa>.cc). ---

// Raw pointers, not spans: the kernels are compiled with ISA flags and must not instantiate
// inline library code the generic parts of poet could end up linked against.
struct DepthwiseJob {
  ConvShape shape;  // multiplier 1: out_c == in_c
  const float* input = nullptr;
  const float* filter = nullptr;  // [k_h][k_w][c]
  const float* bias = nullptr;    // out_c floats, never null
  const float* zeros = nullptr;   // in_w * in_c zeros: the rows above and below the image
  Activation act = Activation::kNone;
  float* output = nullptr;
};

// Channels [c_begin, c_end) of one output row, counted over the batch (row = n * out_h + y).
// c_begin is a multiple of the vector width.
using DepthwiseRowsFn = void (*)(const DepthwiseJob& job, int64_t row, int64_t c_begin,
                                 int64_t c_end);
DepthwiseRowsFn depthwise_conv2d_nhwc_avx2_rows();
DepthwiseRowsFn depthwise_conv2d_nhwc_avx512_rows();

}  // namespace poet::kernels::x86
