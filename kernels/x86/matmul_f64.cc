// The ISA-independent half of the double-precision product: checks, the reference for
// Isa::kRef, and the split of row blocks over threads. The tiles are in matmul_f64_vec.h.
#include "kernels/x86/matmul_f64.h"

#include <algorithm>

#include "engine/thread_pool.h"

namespace poet::kernels::x86 {

void matmul_f64(Isa isa, const MatmulF64Shape& s, std::span<const float> a,
                std::span<const double> b, std::span<double> c, ThreadPool* pool) {
  if (isa == Isa::kRef) return ref::matmul_f64(s, a, b, c);
  ref::check_matmul_f64(s, a, b, c);
  if (s.m == 0 || s.n == 0) return;
  const MatmulF64Kernel kernel =
      simd_kernels(isa, matmul_f64_avx2, matmul_f64_avx512, "matmul_f64");
  const int64_t blocks = (s.m + kernel.rows_per_block - 1) / kernel.rows_per_block;
  // A block of rows is rows_per_block x n x k multiply-adds: split only when a thread gets
  // tens of microseconds of them.
  const int64_t per_block = kernel.rows_per_block * s.n * std::max<int64_t>(s.k, 1);
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 17) / per_block);
  parallel_for(pool, blocks, grain, [&](int64_t begin, int64_t end) {
    kernel.rows(s, a.data(), b.data(), c.data(), begin * kernel.rows_per_block,
                std::min(s.m, end * kernel.rows_per_block));
  });
}

}  // namespace poet::kernels::x86
