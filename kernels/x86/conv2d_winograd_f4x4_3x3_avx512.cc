// AVX-512 instantiation of the Winograd F(4x4, 3x3) transforms (compiled with
// -mavx512f/bw/dq/vl -mfma).
#include "kernels/x86/conv2d_winograd_f4x4_3x3_tile.h"
#include "kernels/x86/simd_avx512.h"

namespace poet::kernels::x86 {

WinogradTransforms winograd_f4x4_3x3_avx512() { return WinogradF4x4Tile<Avx512Vec>::transforms(); }

}  // namespace poet::kernels::x86
