// AVX2+FMA instantiation of the depthwise convolution kernels (compiled with -mavx2 -mfma).
#include "kernels/x86/depthwise_conv2d_nhwc_window.h"
#include "kernels/x86/simd_avx2.h"

namespace poet::kernels::x86 {

// One output row per tile: two rows' 16 accumulators would fill the 16 registers, and reading
// the weights from memory made MobileNet v1's stride-1 layers 1.3-1.6x slower (Zen 5).
DepthwiseRowsFn depthwise_conv2d_nhwc_avx2_rows() { return &DepthwiseRows<Avx2Vec, 1>::run; }

}  // namespace poet::kernels::x86
