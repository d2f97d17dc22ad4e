// Fast bilinear resize of float NHWC images for x86 (AVX2+FMA or AVX-512).
//
//   resize_bilinear_nhwc(active_isa(), shape, grid, input, output, pool);
//
// The sampling grid, the order of the three interpolations and their rounding (compiled without
// fused multiply-adds) are kernels::ref's, that is TensorFlow's: results are bitwise the same. Each
// output row is one vector loop over its out_w x channels values: the four input pixels of each
// value are gathered through index tables computed once per call, which keeps the loop the same for
// 3-channel photos and for wide feature maps.
#pragma once

#include <cstdint>
#include <span>

#include "kernels/ref/resize_bilinear.h"
#include "kernels/x86/cpu_features.h"

namespace poet {
class ThreadPool;
}

namespace poet::kernels::x86 {

// Isa::kRef runs the reference.
void resize_bilinear_nhwc(Isa isa, const ref::ResizeShape& shape, ref::ResizeGrid grid,
                          std::span<const float> input, std::span<float> output, ThreadPool* pool);

// --- Interface between the driver and the per-ISA kernels (resize_bilinear_nhwc_<isa>.cc). ---

struct ResizeJob {
  ref::ResizeShape shape;
  const float* input = nullptr;
  float* output = nullptr;
  const ref::Interpolation* rows = nullptr;  // per output row y: input rows and weight
  // Per value j = x * channels + c of an output row, padded with zeros to whole vectors: the
  // offsets (in floats, within an input row) of its left and right input values, and the
  // weight of the right one.
  const int32_t* left = nullptr;
  const int32_t* right = nullptr;
  const float* x_lerp = nullptr;
};

// Output rows [row_begin, row_end), counted over the batch (row = n * out_h + y).
using ResizeRowsFn = void (*)(const ResizeJob& job, int64_t row_begin, int64_t row_end);
ResizeRowsFn resize_bilinear_nhwc_avx2_rows();
ResizeRowsFn resize_bilinear_nhwc_avx512_rows();

}  // namespace poet::kernels::x86
