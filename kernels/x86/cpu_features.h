// Which SIMD instruction sets this CPU and OS let poet use, and which one the fast kernels
// run with. Detected once from CPUID and XGETBV (the OS must save the YMM/ZMM registers on a
// context switch, or the instructions fault even when CPUID lists them).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace poet::kernels::x86 {

// Ordered from least to most capable.
enum class Isa { kRef, kAvx2, kAvx512 };

struct CpuFeatures {
  bool avx2_fma = false;   // AVX2 + FMA3 with YMM state enabled by the OS
  bool avx512 = false;     // AVX-512 F+BW+DQ+VL with ZMM and mask state enabled by the OS
  int l1d_ways = 0;        // the L1 data cache's associativity; 0 when CPUID does not say
  bool prefetchw = false;  // PREFETCHW (Linux's flag "3dnowprefetch"; prefetch_for_writing.h)
};

// The detected features (computed on first call).
const CpuFeatures& cpu_features();

// True when kernels for `isa` can run here (kRef always can).
bool isa_available(Isa isa);
// The ISAs this machine can run, kRef first.
std::vector<Isa> available_isas();

std::string_view isa_name(Isa isa);  // "ref", "avx2", "avx512"
// Parses "ref" | "avx2" | "avx512"; throws Error naming `what` otherwise.
Isa parse_isa(std::string_view name, std::string_view what);

// The ISA the fast kernels use: the override from force_isa() if any, else the POET_ISA
// environment variable (ref|avx2|avx512) if set, else the best available. Throws Error when
// the forced ISA is not available on this machine.
Isa active_isa();

// The kernel, or table of kernels, of a SIMD ISA: avx2() for kAvx2, avx512() for kAvx512.
// Throws Error naming `what` for kRef, which the callers run through kernels::ref instead.
[[noreturn]] void fail_no_simd_kernel(std::string_view what, Isa isa);
template <class Kernels>
Kernels simd_kernels(Isa isa, Kernels (*avx2)(), Kernels (*avx512)(), std::string_view what) {
  if (isa == Isa::kAvx2) return avx2();
  if (isa == Isa::kAvx512) return avx512();
  fail_no_simd_kernel(what, isa);
}

// Process-wide override for tests and benchmarks (nullopt clears it). Throws Error when
// `isa` is not available here.
void force_isa(std::optional<Isa> isa);

}  // namespace poet::kernels::x86
