// AVX-512 instantiation of the bilinear resize rows (compiled with -mavx512f/bw/dq/vl -mfma).
#include "kernels/x86/resize_bilinear_nhwc_vec.h"
#include "kernels/x86/simd_avx512.h"

namespace poet::kernels::x86 {

ResizeRowsFn resize_bilinear_nhwc_avx512_rows() { return &ResizeBilinearVec<Avx512Vec>::rows; }

}  // namespace poet::kernels::x86
