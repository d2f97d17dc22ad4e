// AVX2+FMA instantiation of the element-wise kernels (compiled with -mavx2 -mfma).
#include "kernels/x86/elementwise_vec.h"
#include "kernels/x86/simd_avx2.h"

namespace poet::kernels::x86 {

ElementwiseKernels elementwise_avx2_kernels() { return ElementwiseVec<Avx2Vec>::kernels(); }

}  // namespace poet::kernels::x86
