// AVX-512 instantiation of the element-wise kernels (compiled with -mavx512f/bw/dq/vl -mfma).
#include "kernels/x86/elementwise_vec.h"
#include "kernels/x86/simd_avx512.h"

namespace poet::kernels::x86 {

ElementwiseKernels elementwise_avx512_kernels() { return ElementwiseVec<Avx512Vec>::kernels(); }

}  // namespace poet::kernels::x86
