// AVX-512 instantiation of the blocked Conv2D (compiled with -mavx512f/bw/dq/vl -mfma).
#include <immintrin.h>

#include "kernels/x86/conv2d_nhwc_blocked.h"

namespace poet::kernels::x86 {
namespace {

// kRows x kVecs accumulators + kVecs weight vectors + 1 broadcast of the 32 zmm registers.
template <int kRows, int kVecs>
struct Avx512 {
  using Reg = __m512;
  static constexpr int kWidth = 16;
  static constexpr int kTileRows = kRows;
  static constexpr int kPanelVecs = kVecs;
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg set1(float x) { return _mm512_set1_ps(x); }
  static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  static Reg broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  static Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  static Reg max(Reg a, Reg b) { return _mm512_max_ps(a, b); }
  static Reg min(Reg a, Reg b) { return _mm512_min_ps(a, b); }
  static Reg load_first(const float* p, int n) {
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1), p);
  }
  static void store(float* p, Reg r) { _mm512_storeu_ps(p, r); }
  static void store_first(float* p, Reg r, int n) {
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1), r);
  }
};

}  // namespace

// 8 pixels x 3 vectors (48 channels): 8 broadcasts and 3 weight loads per 24 FMAs, against 12 + 2
// for 12 x 2, and measured 1-5% faster on Inception v3's layers (Zen 4). Layers with at most 32
// output channels would fill only 2 of its 3 vectors: they keep 12 x 2 (the stem: 7% faster).
ConvKernelInfo conv2d_nhwc_avx512_kernel(int64_t out_c) {
  return out_c <= 32 ? BlockedConv<Avx512<12, 2>>::info() : BlockedConv<Avx512<8, 3>>::info();
}

}  // namespace poet::kernels::x86
