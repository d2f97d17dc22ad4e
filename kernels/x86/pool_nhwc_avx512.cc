// AVX-512 instantiation of the pooling kernels (compiled with -mavx512f/bw/dq/vl -mfma).
#include "kernels/x86/pool_nhwc_window.h"
#include "kernels/x86/simd_avx512.h"

namespace poet::kernels::x86 {

PoolKernels pool_nhwc_avx512_kernels() { return PoolRows<Avx512Vec>::kernels(); }

}  // namespace poet::kernels::x86
