// AVX2+FMA instantiation of the pooling kernels (compiled with -mavx2 -mfma).
#include "kernels/x86/pool_nhwc_window.h"
#include "kernels/x86/simd_avx2.h"

namespace poet::kernels::x86 {

PoolKernels pool_nhwc_avx2_kernels() { return PoolRows<Avx2Vec>::kernels(); }

}  // namespace poet::kernels::x86
