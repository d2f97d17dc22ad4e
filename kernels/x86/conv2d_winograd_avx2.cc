// AVX2+FMA instantiation of the Winograd tile transforms (compiled with -mavx2 -mfma).
#include "kernels/x86/conv2d_winograd_tile.h"
#include "kernels/x86/simd_avx2.h"

namespace poet::kernels::x86 {

WinogradTransforms winograd_transforms_avx2(int64_t k_h, int64_t k_w) {
  WinogradTransforms t{};
  winograd::visit_tile(k_h, k_w, [&]<class T>(T) { t = WinogradTile<Avx2Vec>::transforms<T>(); });
  return t;
}

}  // namespace poet::kernels::x86
