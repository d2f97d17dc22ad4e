// The AVX-512 vector traits the window kernels (depthwise_conv2d_nhwc_window.h,
// pool_nhwc_window.h, elementwise_vec.h) are written against. Include only from *_avx512.cc files,
// which are compiled with the AVX-512 flags; generic code must never see these inline functions.
#pragma once

#include <immintrin.h>

namespace poet::kernels::x86 {

struct Avx512Vec {
  using Reg = __m512;
  static constexpr int kWidth = 16;
  // Output pixels an interior depthwise tile keeps in flight: 9 weights + 8 accumulators +
  // 1 input of the 32 zmm registers, and 8 independent FMA chains hide the FMA latency.
  static constexpr int kPixels = 8;
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

 private:
  static __mmask16 first(int n) { return static_cast<__mmask16>((1u << n) - 1); }
};

}  // namespace poet::kernels::x86
