// The ISA-independent half of the fast Softmax: checks, the reference for Isa::kRef, and the
// split of rows over threads. The arithmetic is in softmax_vec.h.
#include "kernels/x86/softmax.h"

#include <algorithm>

#include "engine/error.h"
#include "engine/thread_pool.h"
#include "kernels/ref/softmax.h"

namespace poet::kernels::x86 {

void softmax(Isa isa, std::span<const float> logits, int64_t classes, std::span<float> out,
             ThreadPool* pool) {
  if (classes <= 0 || logits.empty()) return;
  if (logits.size() != out.size() || logits.size() % classes != 0)
    fail("softmax: ", logits.size(), " logits, ", out.size(), " outputs and ", classes,
         " classes do not make whole rows");
  if (isa == Isa::kRef) return ref::softmax(logits, classes, out);
  const SoftmaxRowsFn rows = simd_kernels(isa, softmax_avx2_rows, softmax_avx512_rows, "softmax");
  // Rows of at least ~16K logits per task: a row is a few microseconds of work.
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 14) / classes);
  parallel_for(
      pool, static_cast<int64_t>(logits.size()) / classes, grain,
      [&](int64_t begin, int64_t end) { rows(logits.data(), classes, out.data(), begin, end); });
}

}  // namespace poet::kernels::x86
