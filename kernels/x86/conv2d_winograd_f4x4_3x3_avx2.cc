// AVX2+FMA instantiation of the Winograd F(4x4, 3x3) transforms (compiled with -mavx2 -mfma).
#include "kernels/x86/conv2d_winograd_f4x4_3x3_tile.h"
#include "kernels/x86/simd_avx2.h"

namespace poet::kernels::x86 {

WinogradTransforms winograd_f4x4_3x3_avx2() { return WinogradF4x4Tile<Avx2Vec>::transforms(); }

}  // namespace poet::kernels::x86
