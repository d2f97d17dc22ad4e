// The ISA-independent half of the fast pooling: checks, the reference for Isa::kRef, and the
// split over threads. The arithmetic is in pool_nhwc_window.h.
#include "kernels/x86/pool_nhwc.h"

#include <algorithm>

#include "engine/error.h"
#include "engine/thread_pool.h"
#include "kernels/ref/pool.h"

namespace poet::kernels::x86 {
void pool_nhwc(Isa isa, PoolKind kind, const ConvShape& s, std::span<const float> input,
               std::span<float> output, ThreadPool* pool, Activation act) {
  if (s.output_size() == 0) return;
  if (s.out_c != s.in_c || static_cast<int64_t>(input.size()) != s.input_size() ||
      static_cast<int64_t>(output.size()) != s.output_size())
    fail("pool_nhwc: buffer sizes (input ", input.size(), ", output ", output.size(),
         ") do not match the shape ", s.batch, "x", s.in_h, "x", s.in_w, "x", s.in_c, " -> ",
         s.out_c, " channels");
  if (isa == Isa::kRef) {
    if (kind == PoolKind::kMax) {
      ref::max_pool(s, input, output);
    } else {
      ref::avg_pool(s, input, output);
    }
    if (act == Activation::kNone) return;
    const int64_t stride = s.out_pixel_stride();
    for (int64_t p = 0; p < s.batch * s.out_h * s.out_w; ++p)
      for (int64_t c = 0; c < s.out_c; ++c)
        output[p * stride + c] = activate(output[p * stride + c], act);
    return;
  }
  const PoolKernels kernels =
      simd_kernels(isa, pool_nhwc_avx2_kernels, pool_nhwc_avx512_kernels, "pool_nhwc");
  const PoolRowsFn rows = kind == PoolKind::kMax ? kernels.max : kernels.avg;
  const PoolJob job{s, input.data(), output.data(), act};
  // Rows of at least ~64K window cells per task.
  const int64_t row_work = std::max<int64_t>(1, s.out_w * s.out_c * s.k_h * s.k_w);
  const int64_t grain = std::max<int64_t>(1, 65536 / row_work);
  parallel_for(pool, s.batch * s.out_h, grain,
               [&](int64_t begin, int64_t end) { rows(job, begin, end); });
}

}  // namespace poet::kernels::x86
