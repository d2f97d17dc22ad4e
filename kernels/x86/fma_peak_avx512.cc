// The FMA-peak loop with avx512 vectors (see fma_peak.h).
#include <immintrin.h>

#include "kernels/x86/fma_peak.h"

namespace poet::kernels::x86 {

double fma_loop_avx512(int64_t iterations) {
  constexpr int kChains = 24;  // of the 32 zmm registers
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  // x * 1 + 0-ish: values stay finite and normal however long the loop runs.
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 24
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  // Sum the chains so none of them is dead code.
  __m512 sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm512_add_ps(sum, acc[i]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, sum);
  volatile float sink = lanes[0];
  (void)sink;
  return static_cast<double>(iterations) * kChains * 16 * 2;
}

}  // namespace poet::kernels::x86
