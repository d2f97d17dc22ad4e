// AVX-512 instantiation of the depthwise convolution kernels (compiled with -mavx512f/bw/dq/vl
// -mfma).
#include "kernels/x86/depthwise_conv2d_nhwc_window.h"
#include "kernels/x86/simd_avx512.h"

namespace poet::kernels::x86 {

// Two output rows per tile: 2 x 8 accumulators, the nine weights and an input vector take 26
// of the 32 registers. Against one row (Zen 5, one thread, each layer alone): MobileNet v1's
// stride-1 layers 6-24% faster (112x112x32 72 -> 55 us, 14x14x512 19.8 -> 17.8). With stride
// 2 two rows read five input rows, not six: the 112x112 layer ran 12% faster, the others
// 3-14% slower, so stride 2 takes one row.
DepthwiseRowsFn depthwise_conv2d_nhwc_avx512_rows() { return &DepthwiseRows<Avx512Vec, 2>::run; }

}  // namespace poet::kernels::x86
