// AVX2+FMA instantiation of the bilinear resize rows (compiled with -mavx2 -mfma).
#include "kernels/x86/resize_bilinear_nhwc_vec.h"
#include "kernels/x86/simd_avx2.h"

namespace poet::kernels::x86 {

ResizeRowsFn resize_bilinear_nhwc_avx2_rows() { return &ResizeBilinearVec<Avx2Vec>::rows; }

}  // namespace poet::kernels::x86
