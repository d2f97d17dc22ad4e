// Measures this machine's single-thread FMA peak, so `poet bench` and the benchmarks can
// report kernels as a fraction of what the hardware can do.
#pragma once

#include "kernels/x86/cpu_features.h"

namespace poet::kernels::x86 {

// GFLOP/s (an FMA counts 2) of one thread running only independent FMAs with `isa`'s widest
// vectors, timed over about `seconds` of the thread's CPU time. `isa` must be kAvx2 or kAvx512 and
// available.
double measure_fma_peak(Isa isa, double seconds = 0.2);

// The per-ISA timed loops: `iterations` rounds of independent vector FMA chains, enough to
// keep two FMA pipes busy through a 4-5 cycle latency without spilling registers (24 zmm
// chains for AVX-512, 12 ymm chains for AVX2's 16 registers). Return the FLOPs performed.
double fma_loop_avx2(int64_t iterations);
double fma_loop_avx512(int64_t iterations);

}  // namespace poet::kernels::x86
