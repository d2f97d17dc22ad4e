// AVX-512 instantiation of the Softmax rows (compiled with -mavx512f/bw/dq/vl -mfma).
#include "kernels/x86/simd_avx512.h"
#include "kernels/x86/softmax_vec.h"

namespace poet::kernels::x86 {

SoftmaxRowsFn softmax_avx512_rows() { return &SoftmaxVec<Avx512Vec>::rows; }

}  // namespace poet::kernels::x86
