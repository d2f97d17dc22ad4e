// AVX2+FMA instantiation of the depthwise convolution kernels (compiled with -mavx2 -mfma).
#include "kernels/x86/depthwise_conv2d_nhwc_window.h"
#include "kernels/x86/simd_avx2.h"

namespace poet::kernels::x86 {

DepthwiseRowsFn depthwise_conv2d_nhwc_avx2_rows() { return &DepthwiseRows<Avx2Vec>::run; }

}  // namespace poet::kernels::x86
