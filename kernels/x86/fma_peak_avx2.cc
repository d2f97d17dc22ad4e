// The FMA-peak loop with avx2 vectors (see fma_peak.h).
#include <immintrin.h>

#include "kernels/x86/fma_peak.h"

namespace poet::kernels::x86 {

double fma_loop_avx2(int64_t iterations) {
  constexpr int kChains = 12;  // of the 16 ymm registers, leaving room for the constants
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  // x * 1 + 0-ish: values stay finite and normal however long the loop runs.
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 24
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  // Sum the chains so none of them is dead code.
  __m256 sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm256_add_ps(sum, acc[i]);
  alignas(64) float lanes[8];
  _mm256_store_ps(lanes, sum);
  volatile float sink = lanes[0];
  (void)sink;
  return static_cast<double>(iterations) * kChains * 8 * 2;
}

}  // namespace poet::kernels::x86
