// AVX-512 instantiation of the depthwise convolution kernels (compiled with -mavx512f/bw/dq/vl
// -mfma).
#include "kernels/x86/depthwise_conv2d_nhwc_window.h"
#include "kernels/x86/simd_avx512.h"

namespace poet::kernels::x86 {

DepthwiseRowsFn depthwise_conv2d_nhwc_avx512_rows() { return &DepthwiseRows<Avx512Vec>::run; }

}  // namespace poet::kernels::x86
