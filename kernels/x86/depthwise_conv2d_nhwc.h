// Fast NHWC depthwise convolution for x86 (AVX2+FMA or AVX-512), vectorised over channels.
//
//   depthwise_conv2d_nhwc(active_isa(), shape, input, filter, bias, Activation::kRelu6,
//                         output, pool);
//   // or, with a constant filter and bias, packed once:
//   PackedDepthwiseWeights w = pack_depthwise_weights(3, 3, channels, filter, bias);
//   depthwise_conv2d_nhwc(active_isa(), shape, input, w, Activation::kRelu6, output, pool);
//
// Channel multiplier 1 runs the SIMD kernels (any window, stride, dilation and padding; 3x3
// windows with stride 1 or 2 along the rows, MobileNet's, have a tiled kernel, see
// depthwise_conv2d_nhwc_window.h). Other multipliers, and Isa::kRef, run
// kernels::ref::depthwise_conv2d. Results match the reference up to float rounding (the
// kernels use fused multiply-adds).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

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
// Packs the weights on every call: a constant filter is better packed once (below).
void depthwise_conv2d_nhwc(Isa isa, const ConvShape& shape, std::span<const float> input,
                           std::span<const float> filter, std::span<const float> bias,
                           Activation act, std::span<float> output, ThreadPool* pool);

// Channels per group of the packed weights: a cache line of floats, whole vectors on every ISA.
inline constexpr int64_t kDepthwiseGroup = 16;

// A multiplier-1 filter [k_h, k_w, channels, 1] and its bias as the SIMD kernels read them:
// per group of kDepthwiseGroup channels, the bias, then the k_h * k_w taps in filter order,
// kDepthwiseGroup floats each, zero past the last channel (and for a missing bias).
struct PackedDepthwiseWeights {
  int64_t k_h = 0, k_w = 0, channels = 0;
  std::shared_ptr<std::byte> storage;  // 64-byte aligned floats

  const float* data() const { return reinterpret_cast<const float*>(storage.get()); }
};

// Where channel c's bias sits in packed weights of `taps` taps per channel; its tap t follows
// at + (1 + t) * kDepthwiseGroup.
inline int64_t depthwise_weights_offset(int64_t taps, int64_t c) {
  return (c / kDepthwiseGroup) * (1 + taps) * kDepthwiseGroup + c % kDepthwiseGroup;
}

// `bias` may be empty. Throws Error when the sizes do not match.
PackedDepthwiseWeights pack_depthwise_weights(int64_t k_h, int64_t k_w, int64_t channels,
                                              std::span<const float> filter,
                                              std::span<const float> bias);

// The same with packed weights: multiplier 1 and a SIMD `isa` only (throws Error otherwise).
void depthwise_conv2d_nhwc(Isa isa, const ConvShape& shape, std::span<const float> input,
                           const PackedDepthwiseWeights& weights, Activation act,
                           std::span<float> output, ThreadPool* pool);

// The output rows [first, last) (counted over the batch) that `thread` of a pool of `threads`
// computes unless it steals or is stolen from (ThreadPool::owned_items). When the threads'
// bands of rows hold as many runs of rows each (2 threads and an even height), these are the
// rows whose pixels the thread computed in the 1x1 layer before (Conv2dNhwcPlan::thread_pixels).
std::pair<int64_t, int64_t> depthwise_thread_rows(const ConvShape& shape, int threads, int thread);

// --- Interface between the driver and the per-ISA kernels (depthwise_conv2d_nhwc_<isa>.cc). ---

// Raw pointers, not spans: the kernels are compiled with ISA flags and must not instantiate
// inline library code the generic parts of poet could end up linked against.
struct DepthwiseJob {
  ConvShape shape;  // multiplier 1: out_c == in_c
  const float* input = nullptr;
  const float* weights = nullptr;  // PackedDepthwiseWeights::data()
  const float* zeros = nullptr;    // in_w * in_c zeros: the rows above and below the image
  Activation act = Activation::kNone;
  // Output row r (counted over the batch) at output + (r - first_row) * out_w * out_c: 0 for
  // a whole output, a run's first row for a buffer holding only that run.
  float* output = nullptr;
  int64_t first_row = 0;
};

// Channels [c_begin, c_end) of output rows [row, row + rows) of one image, rows counted over
// the batch (row = n * out_h + y). c_begin is a multiple of kDepthwiseGroup.
using DepthwiseRowsFn = void (*)(const DepthwiseJob& job, int64_t row, int64_t rows,
                                 int64_t c_begin, int64_t c_end);
DepthwiseRowsFn depthwise_conv2d_nhwc_avx2_rows();
DepthwiseRowsFn depthwise_conv2d_nhwc_avx512_rows();
// The one for `isa` (kAvx2 or kAvx512; throws Error for others).
DepthwiseRowsFn depthwise_rows_fn(Isa isa);

// `floats` zeros: the rows above and below the image that a job's 3x3 windows read
// (DepthwiseJob::zeros). Kept per calling thread, valid until its next call.
const float* depthwise_zero_row(int64_t floats);

// Output rows [row, row + rows) of the batch's images stacked (image n's row y is n * out_h + y).
struct RowRun {
  int64_t row, rows;
};

// The batch's rows cut into one band per thread (band b: rows [b * n / bands, (b + 1) * n /
// bands) of n), as the 1x1 layers cut their pixels (conv2d_nhwc.cc), so that the pool's
// contiguous schedule gives each thread the rows it wrote in the layer before; each band's
// rows are then taken up to `run_rows` at a time, within one image.
std::vector<RowRun> row_runs(int64_t batch, int64_t height, int64_t bands, int64_t run_rows);

}  // namespace poet::kernels::x86
