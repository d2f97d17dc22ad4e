// AVX-512 instantiation of the double-precision product (compiled with -mavx512f/bw/dq/vl
// -mfma -ffp-contract=off).
#include "kernels/x86/matmul_f64_vec.h"
#include "kernels/x86/simd_avx512.h"

namespace poet::kernels::x86 {

MatmulF64Kernel matmul_f64_avx512() {
  using Tiles = MatmulF64Vec<Avx512VecF64>;
  return {Tiles::kRows, &Tiles::rows};
}

}  // namespace poet::kernels::x86
