// Fast C += A B summed in double, A read from floats, for x86 (AVX2 or AVX-512): the new
// layer's sums in `poet retrain` (trainer/softmax_layer.cc).
//
//   matmul_f64(active_isa(), shape, a, b, c, pool);
//
// Gives kernels::ref::matmul_f64's bits: the tiles vectorise along j and block rows i, so
// each element is still summed alone in the order p = 0, 1, ..., a multiply then an add
// (matmul_f64_<isa>.cc are compiled without contraction into fused multiply-adds).
#pragma once

#include <span>

#include "kernels/ref/matmul_f64.h"
#include "kernels/x86/cpu_features.h"

namespace poet {
class ThreadPool;
}

namespace poet::kernels::x86 {

using ref::MatmulF64Shape;

// Isa::kRef runs the reference. Blocks of rows go to the pool's threads.
void matmul_f64(Isa isa, const MatmulF64Shape& s, std::span<const float> a,
                std::span<const double> b, std::span<double> c, ThreadPool* pool);

// --- Interface between the driver and the per-ISA kernels (matmul_f64_<isa>.cc). ---

// Rows [begin, end) of C, in blocks of rows_per_block rows; the pointers are the operands' starts.
struct MatmulF64Kernel {
  int rows_per_block;
  void (*rows)(const MatmulF64Shape& s, const float* a, const double* b, double* c, int64_t begin,
               int64_t end);
};
MatmulF64Kernel matmul_f64_avx2();
MatmulF64Kernel matmul_f64_avx512();

}  // namespace poet::kernels::x86
