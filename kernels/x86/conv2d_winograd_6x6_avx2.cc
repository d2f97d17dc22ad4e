// AVX2+FMA instantiation of the Winograd 6x6-tile transforms (compiled with -mavx2 -mfma).
#include "kernels/x86/conv2d_winograd_6x6_tile.h"
#include "kernels/x86/simd_avx2.h"

namespace poet::kernels::x86 {

WinogradTransforms winograd_6x6_avx2(int64_t window) {
  using Tile = Winograd6x6Tile<Avx2Vec>;
  return window == 5 ? Tile::transforms<winograd_6x6::F2x2_5x5>()
                     : Tile::transforms<winograd_6x6::F4x4_3x3>();
}

}  // namespace poet::kernels::x86
