// Fast Softmax over the last axis for x86 (AVX2+FMA or AVX-512), vectorised along each row.
//
//   softmax(active_isa(), logits, classes, out, pool);
//
// Same steps as kernels::ref::softmax (subtract the row's maximum, exponentiate, multiply by
// the reciprocal of the sum), with a polynomial exp accurate to about 2 ulp and the sum kept
// in float lanes: results agree with the reference to about 1e-6 relative.
#pragma once

#include <cstdint>
#include <span>

#include "kernels/x86/cpu_features.h"

namespace poet {
class ThreadPool;
}

namespace poet::kernels::x86 {

// `logits` and `out` hold rows of `classes` values. Isa::kRef runs the reference.
void softmax(Isa isa, std::span<const float> logits, int64_t classes, std::span<float> out,
             ThreadPool* pool);

// --- Interface between the driver and the per-ISA kernels (softmax_<isa>.cc). ---

// Rows [begin, end) of out = softmax(logits).
using SoftmaxRowsFn = void (*)(const float* logits, int64_t classes, float* out, int64_t begin,
                               int64_t end);
SoftmaxRowsFn softmax_avx2_rows();
SoftmaxRowsFn softmax_avx512_rows();

}  // namespace poet::kernels::x86
