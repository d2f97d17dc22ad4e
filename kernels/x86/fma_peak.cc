#include "kernels/x86/fma_peak.h"

#include <time.h>

#include <algorithm>

#include "engine/error.h"

namespace poet::kernels::x86 {
namespace {

// CPU time of this thread: unlike wall time, not inflated when other processes share the
// cores (the peak is what the core does while it runs this loop).
double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

}  // namespace

double measure_fma_peak(Isa isa, double seconds) {
  if (isa == Isa::kRef || !isa_available(isa))
    fail("measure_fma_peak: ISA '", isa_name(isa), "' has no FMA loop on this machine");
  auto loop = isa == Isa::kAvx512 ? fma_loop_avx512 : fma_loop_avx2;
  loop(10000);  // wake the vector units (some CPUs power up the upper lanes lazily)
  // Grow the iteration count until one run takes a tenth of the budget, then keep the best
  // of several runs of that size (interrupts and frequency changes only ever slow a run).
  int64_t iterations = 100000;
  while (iterations < (int64_t{1} << 40)) {
    const double start = thread_seconds();
    loop(iterations);
    if (thread_seconds() - start >= seconds / 10) break;
    iterations *= 2;
  }
  double best = 0;
  for (int run = 0; run < 5; ++run) {
    const double start = thread_seconds();
    const double flops = loop(iterations);
    best = std::max(best, flops / (thread_seconds() - start) * 1e-9);
  }
  return best;
}

}  // namespace poet::kernels::x86
