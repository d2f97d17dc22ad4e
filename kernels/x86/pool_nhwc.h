// Fast NHWC max and average pooling for x86 (AVX2+FMA or AVX-512), vectorised over channels.
//
//   pool_nhwc(active_isa(), PoolKind::kAvg, shape, input, output, pool);
//   pool_nhwc(active_isa(), PoolKind::kAvg, shape, input, output, pool, Activation::kRelu);
//
// `shape` describes the window as for kernels::ref::max_pool / avg_pool (out_c == in_c,
// k_h x k_w window, dilation 1). Max pooling ignores cells outside the image; average pooling
// divides by the count of real cells in each window, as TensorFlow does. Isa::kRef runs the
// reference. Max pooling matches the reference exactly, average pooling too (same order of
// additions, same division). `act` clamps each result as it is stored (the optimiser's
// _FusedAvgPool: Inception's pool towers, their Relu moved after the pool).
#pragma once

#include <cstdint>
#include <span>

#include "kernels/conv_shape.h"
#include "kernels/x86/cpu_features.h"

namespace poet {
class ThreadPool;
}

namespace poet::kernels::x86 {

enum class PoolKind { kMax, kAvg };

void pool_nhwc(Isa isa, PoolKind kind, const ConvShape& shape, std::span<const float> input,
               std::span<float> output, ThreadPool* pool, Activation act = Activation::kNone);

// --- Interface between the driver and the per-ISA kernels (pool_nhwc_<isa>.cc). ---

struct PoolJob {
  ConvShape shape;
  const float* input = nullptr;
  float* output = nullptr;
  Activation act = Activation::kNone;
};

// Output rows [row_begin, row_end), counted over the batch (row = n * out_h + y).
using PoolRowsFn = void (*)(const PoolJob& job, int64_t row_begin, int64_t row_end);
struct PoolKernels {
  PoolRowsFn max, avg;
};
PoolKernels pool_nhwc_avx2_kernels();
PoolKernels pool_nhwc_avx512_kernels();

}  // namespace poet::kernels::x86
