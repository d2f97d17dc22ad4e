// AVX2 instantiation of the double-precision product (compiled with -mavx2 -mfma
// -ffp-contract=off).
#include "kernels/x86/matmul_f64_vec.h"
#include "kernels/x86/simd_avx2.h"

namespace poet::kernels::x86 {

MatmulF64Kernel matmul_f64_avx2() {
  using Tiles = MatmulF64Vec<Avx2VecF64>;
  return {Tiles::kRows, &Tiles::rows};
}

}  // namespace poet::kernels::x86
