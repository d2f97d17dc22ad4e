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
// for 12 x 2, and measured 1-5% faster on Inception v3's layers (Zen 4) and 2-4% on MobileNet
// v1's 512- and 1024-channel layers (Zen 5). Its panels hold 48 channels, though: a layer whose
// last panel would be mostly padding takes 12 x 2 when that computes at least 1/8 fewer
// channels. That is every layer of at most 32 channels (the stem: 7% faster), and 64 and 160:
// at 64, 8 x 3 computes 96 (Zen 5, one thread: Inception's 35x35 layers to 64 channels 5-8%
// faster with 12 x 2, its 5x5 and 3x3 ones through Winograd 12%, MobileNet's 15%).
ConvKernelInfo conv2d_nhwc_avx512_kernel(int64_t out_c) {
  const int64_t padded_32 = (out_c + 31) / 32 * 32, padded_48 = (out_c + 47) / 48 * 48;
  if (padded_32 * 8 <= padded_48 * 7) return BlockedConv<Avx512<12, 2>>::info();
  return BlockedConv<Avx512<8, 3>>::info();
}

}  // namespace poet::kernels::x86
