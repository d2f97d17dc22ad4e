// The AVX-512 vector traits the SIMD kernels written once for any width
// (depthwise_conv2d_nhwc_window.h, conv2d_winograd_tile.h, pool_nhwc_window.h, elementwise_vec.h,
// softmax_vec.h, resize_bilinear_nhwc_vec.h, matmul_f64_vec.h) are instantiated with. Include
// only from *_avx512.cc files, which are compiled with the AVX-512 flags; generic code must never
// see these inline functions.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace poet::kernels::x86 {

struct Avx512Vec {
  using Reg = __m512;
  static constexpr int kWidth = 16;
  // Output pixels of a 3x3 depthwise tile: 8 pixels x 1 vector (a cache line of channels)
  // = 8 accumulators (8 independent FMA chains hide the FMA latency), with a filter row's 3
  // weights and an input of the 32 zmm registers.
  static constexpr int kPixels = 8;
  static constexpr int kRegisters = 32;  // zmm: what a tile's accumulators and weights share
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg set1(float x) { return _mm512_set1_ps(x); }
  static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, Reg r) { _mm512_storeu_ps(p, r); }
  // The first n (< kWidth) lanes; the others read as zero and are never touched in memory.
  static Reg load_first(const float* p, int n) { return _mm512_maskz_loadu_ps(first(n), p); }
  static void store_first(float* p, Reg r, int n) { _mm512_mask_storeu_ps(p, first(n), r); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  static Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  static Reg sub(Reg a, Reg b) { return _mm512_sub_ps(a, b); }
  static Reg mul(Reg a, Reg b) { return _mm512_mul_ps(a, b); }
  static Reg div(Reg a, Reg b) { return _mm512_div_ps(a, b); }
  static Reg max(Reg a, Reg b) { return _mm512_max_ps(a, b); }
  static Reg min(Reg a, Reg b) { return _mm512_min_ps(a, b); }
  // base[index[i]] for each lane (index: kWidth int32 offsets in floats).
  static Reg gather(const float* base, const int32_t* index) {
    return _mm512_i32gather_ps(_mm512_loadu_si512(index), base, 4);
  }
  static Reg round(Reg a) {
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  // 2^n for lanes holding whole numbers n in [-126, 127], built in the exponent bits.
  static Reg pow2(Reg n) {
    const __m512i biased = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(biased, 23));
  }
  // Halving to 256 and 128 bits. (_mm512_reduce_*_ps and _mm512_castps512_ps256 would do, but
  // GCC 12 warns about the undefined register inside them.)
  static float reduce_max(Reg a) {
    const __m256 h = _mm256_max_ps(_mm512_extractf32x8_ps(a, 0), _mm512_extractf32x8_ps(a, 1));
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)));
  }
  static float reduce_add(Reg a) {
    const __m256 h = _mm256_add_ps(_mm512_extractf32x8_ps(a, 0), _mm512_extractf32x8_ps(a, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));
  }

 private:
  static __mmask16 first(int n) { return static_cast<__mmask16>((1u << n) - 1); }
};

// Lanes of doubles, for the double-precision product (matmul_f64_vec.h).
struct Avx512VecF64 {
  using Reg = __m512d;
  static constexpr int kWidth = 8;
  static constexpr int kRegisters = 32;
  static Reg load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, Reg r) { _mm512_storeu_pd(p, r); }
  // The first n (< kWidth) lanes; the others read as zero and are never touched in memory.
  static Reg load_first(const double* p, int n) { return _mm512_maskz_loadu_pd(first(n), p); }
  static void store_first(double* p, Reg r, int n) { _mm512_mask_storeu_pd(p, first(n), r); }
  static Reg broadcast(float x) { return _mm512_set1_pd(x); }
  static Reg add(Reg a, Reg b) { return _mm512_add_pd(a, b); }
  static Reg mul(Reg a, Reg b) { return _mm512_mul_pd(a, b); }

 private:
  static __mmask8 first(int n) { return static_cast<__mmask8>((1u << n) - 1); }
};

}  // namespace poet::kernels::x86
