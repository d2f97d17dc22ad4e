// AVX-512 instantiation of the Winograd tile transforms (compiled with -mavx512f/bw/dq/vl
// -mfma).
#include "kernels/x86/conv2d_winograd_tile.h"
#include "kernels/x86/simd_avx512.h"

namespace poet::kernels::x86 {

WinogradTransforms winograd_transforms_avx512(int64_t k_h, int64_t k_w) {
  WinogradTransforms t{};
  winograd::visit_tile(k_h, k_w, [&]<class T>(T) { t = WinogradTile<Avx512Vec>::transforms<T>(); });
  return t;
}

}  // namespace poet::kernels::x86
