// AVX2+FMA instantiation of the blocked Conv2D (compiled with -mavx2 -mfma).
#include <immintrin.h>

#include "kernels/x86/conv2d_nhwc_blocked.h"

namespace poet::kernels::x86 {
namespace {

struct Avx2 {
  using Reg = __m256;
  static constexpr int kWidth = 8;
  // 6 x 2 accumulators + 2 weight vectors + 1 broadcast of the 16 ymm registers.
  static constexpr int kTileRows = 6;
  static constexpr int kPanelVecs = 2;
  // Mask of the first n lanes.
  static __m256i first(int n) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
  }
  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg set1(float x) { return _mm256_set1_ps(x); }
  static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  static Reg broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  static Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
  static Reg max(Reg a, Reg b) { return _mm256_max_ps(a, b); }
  static Reg min(Reg a, Reg b) { return _mm256_min_ps(a, b); }
  static Reg load_first(const float* p, int n) { return _mm256_maskload_ps(p, first(n)); }
  static void store(float* p, Reg r) { _mm256_storeu_ps(p, r); }
  static void store_first(float* p, Reg r, int n) { _mm256_maskstore_ps(p, first(n), r); }
};

}  // namespace

ConvKernelInfo conv2d_nhwc_avx2_kernel() { return BlockedConv<Avx2>::info(); }

}  // namespace poet::kernels::x86
