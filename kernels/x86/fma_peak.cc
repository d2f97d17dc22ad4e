#include "kernels/x86/fma_peak.h"

#include <chrono>

#include "engine/error.h"

namespace poet::kernels::x86 {

double measure_fma_peak(Isa isa, double seconds) {
  if (isa == Isa::kRef || !isa_available(isa))
    fail("measure_fma_peak: ISA '", isa_name(isa), "' has no FMA loop on this machine");
  auto loop = isa == Isa::kAvx512 ? fma_loop_avx512 : fma_loop_avx2;
  using Clock = std::chrono::steady_clock;
  loop(10000);  // wake the vector units (some CPUs power up the upper lanes lazily)
  // Grow the iteration count until one run takes long enough to time reliably.
  for (int64_t iterations = 100000;; iterations *= 2) {
    auto start = Clock::now();
    double flops = loop(iterations);
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (elapsed >= seconds || iterations > (int64_t{1} << 40)) return flops / elapsed * 1e-9;
  }
}

}  // namespace poet::kernels::x86
