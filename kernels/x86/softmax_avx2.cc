// AVX2+FMA instantiation of the Softmax rows (compiled with -mavx2 -mfma).
#include "kernels/x86/simd_avx2.h"
#include "kernels/x86/softmax_vec.h"

namespace poet::kernels::x86 {

SoftmaxRowsFn softmax_avx2_rows() { return &SoftmaxVec<Avx2Vec>::rows; }

}  // namespace poet::kernels::x86
