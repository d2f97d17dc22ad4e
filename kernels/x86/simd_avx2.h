// The AVX2+FMA vector traits the window kernels (depthwise_conv2d_nhwc_window.h,
// pool_nhwc_window.h, elementwise_vec.h) are written against. Include only from *_avx2.cc files,
// which are compiled with -mavx2 -mfma; generic code must never see these inline functions.
#pragma once

#include <immintrin.h>

namespace poet::kernels::x86 {

struct Avx2Vec {
  using Reg = __m256;
  static constexpr int kWidth = 8;
  // Output pixels an interior depthwise tile keeps in flight: 9 weights + 4 accumulators +
  // 1 input of the 16 ymm registers.
  static constexpr int kPixels = 4;
  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg set1(float x) { return _mm256_set1_ps(x); }
  static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, Reg r) { _mm256_storeu_ps(p, r); }
  // The first n (< kWidth) lanes; the others read as zero and are never touched in memory.
  static Reg load_first(const float* p, int n) { return _mm256_maskload_ps(p, first(n)); }
  static void store_first(float* p, Reg r, int n) { _mm256_maskstore_ps(p, first(n), r); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  static Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
  static Reg sub(Reg a, Reg b) { return _mm256_sub_ps(a, b); }
  static Reg mul(Reg a, Reg b) { return _mm256_mul_ps(a, b); }
  static Reg div(Reg a, Reg b) { return _mm256_div_ps(a, b); }
  static Reg max(Reg a, Reg b) { return _mm256_max_ps(a, b); }
  static Reg min(Reg a, Reg b) { return _mm256_min_ps(a, b); }

 private:
  static __m256i first(int n) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
  }
};

}  // namespace poet::kernels::x86
