// The AVX2+FMA vector traits the SIMD kernels written once for any width
// (depthwise_conv2d_nhwc_window.h, conv2d_winograd_tile.h, pool_nhwc_window.h, elementwise_vec.h,
// softmax_vec.h, resize_bilinear_nhwc_vec.h, matmul_f64_vec.h) are instantiated with. Include
// only from *_avx2.cc files, which are compiled with -mavx2 -mfma; generic code must never see
// these inline functions.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace poet::kernels::x86 {

struct Avx2Vec {
  using Reg = __m256;
  static constexpr int kWidth = 8;
  // Output pixels of a 3x3 depthwise tile: 4 pixels x 2 vectors (a cache line of channels)
  // = 8 accumulators (8 independent FMA chains), with a filter row's 6 weights and an input
  // in the 16 ymm registers.
  static constexpr int kPixels = 4;
  static constexpr int kRegisters = 16;  // ymm: what a tile's accumulators and weights share
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
  // base[index[i]] for each lane (index: kWidth int32 offsets in floats).
  static Reg gather(const float* base, const int32_t* index) {
    return _mm256_i32gather_ps(base, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(index)),
                               4);
  }
  static Reg round(Reg a) {
    return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  // 2^n for lanes holding whole numbers n in [-126, 127], built in the exponent bits.
  static Reg pow2(Reg n) {
    const __m256i biased = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(biased, 23));
  }
  static float reduce_max(Reg a) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)));
  }
  static float reduce_add(Reg a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));
  }

 private:
  static __m256i first(int n) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
  }
};

// Lanes of doubles, for the double-precision product (matmul_f64_vec.h).
struct Avx2VecF64 {
  using Reg = __m256d;
  static constexpr int kWidth = 4;
  static constexpr int kRegisters = 16;
  static Reg load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, Reg r) { _mm256_storeu_pd(p, r); }
  // The first n (< kWidth) lanes; the others read as zero and are never touched in memory.
  static Reg load_first(const double* p, int n) { return _mm256_maskload_pd(p, first(n)); }
  static void store_first(double* p, Reg r, int n) { _mm256_maskstore_pd(p, first(n), r); }
  static Reg broadcast(float x) { return _mm256_set1_pd(x); }
  static Reg add(Reg a, Reg b) { return _mm256_add_pd(a, b); }
  static Reg mul(Reg a, Reg b) { return _mm256_mul_pd(a, b); }

 private:
  static __m256i first(int n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
};

}  // namespace poet::kernels::x86
