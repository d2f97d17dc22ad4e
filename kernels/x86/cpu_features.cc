#include "kernels/x86/cpu_features.h"

#include <cpuid.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/error.h"

namespace poet::kernels::x86 {
namespace {

struct CpuidRegs {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
};

CpuidRegs cpuid(unsigned leaf, unsigned subleaf) {
  CpuidRegs r;
  if (!__get_cpuid_count(leaf, subleaf, &r.eax, &r.ebx, &r.ecx, &r.edx)) return {};
  return r;
}

// XCR0: which register states the OS saves (bit 1 SSE, 2 AVX, 5-7 opmask/ZMM).
uint64_t xgetbv0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t{hi} << 32) | lo;
}

bool bit(unsigned reg, int n) { return (reg >> n) & 1u; }

// The L1 data cache's ways from the deterministic cache parameters: Intel's leaf 4, AMD's
// 0x8000001D (same layout; leaf 4 lists no caches there). 0 when neither lists it.
int l1d_ways() {
  for (unsigned leaf : {4u, 0x8000001Du}) {
    for (unsigned index = 0; index < 16; ++index) {
      const CpuidRegs r = cpuid(leaf, index);
      const unsigned type = r.eax & 31u, level = (r.eax >> 5) & 7u;
      if (type == 0) break;  // no more caches
      if (level == 1 && (type == 1 || type == 3)) return static_cast<int>((r.ebx >> 22) + 1);
    }
  }
  return 0;
}

CpuFeatures detect() {
  CpuFeatures f;
  f.l1d_ways = l1d_ways();
  f.prefetchw = bit(cpuid(0x80000001, 0).ecx, 8);
  CpuidRegs l1 = cpuid(1, 0);
  bool osxsave = bit(l1.ecx, 27), avx = bit(l1.ecx, 28), fma = bit(l1.ecx, 12);
  if (!osxsave || !avx) return f;
  uint64_t xcr0 = xgetbv0();
  bool ymm_state = (xcr0 & 0x6) == 0x6;
  bool zmm_state = (xcr0 & 0xe6) == 0xe6;
  CpuidRegs l7 = cpuid(7, 0);
  bool avx2 = bit(l7.ebx, 5);
  bool avx512f = bit(l7.ebx, 16), avx512dq = bit(l7.ebx, 17), avx512bw = bit(l7.ebx, 30),
       avx512vl = bit(l7.ebx, 31);
  f.avx2_fma = ymm_state && avx2 && fma;
  f.avx512 = f.avx2_fma && zmm_state && avx512f && avx512dq && avx512bw && avx512vl;
  return f;
}

// -1: no override; otherwise the Isa's value.
std::atomic<int> forced{-1};

Isa best_available() {
  if (cpu_features().avx512) return Isa::kAvx512;
  if (cpu_features().avx2_fma) return Isa::kAvx2;
  return Isa::kRef;
}

void check_available(Isa isa, std::string_view who) {
  if (!isa_available(isa))
    fail(who, " asks for ISA '", isa_name(isa), "', which this CPU (or OS) does not support");
}

// POET_ISA, read and checked once.
Isa env_isa() {
  static const Isa isa = [] {
    const char* value = std::getenv("POET_ISA");
    if (!value || !*value) return best_available();
    Isa parsed = parse_isa(value, "POET_ISA");
    check_available(parsed, "POET_ISA");
    return parsed;
  }();
  return isa;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

bool isa_available(Isa isa) {
  switch (isa) {
    case Isa::kRef:
      return true;
    case Isa::kAvx2:
      return cpu_features().avx2_fma;
    case Isa::kAvx512:
      return cpu_features().avx512;
  }
  return false;
}

std::vector<Isa> available_isas() {
  std::vector<Isa> isas;
  for (Isa isa : {Isa::kRef, Isa::kAvx2, Isa::kAvx512})
    if (isa_available(isa)) isas.push_back(isa);
  return isas;
}

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::kRef:
      return "ref";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
  }
  return "?";
}

Isa parse_isa(std::string_view name, std::string_view what) {
  for (Isa isa : {Isa::kRef, Isa::kAvx2, Isa::kAvx512})
    if (name == isa_name(isa)) return isa;
  fail(what, ": unknown ISA '", std::string(name), "' (expected ref, avx2 or avx512)");
}

void fail_no_simd_kernel(std::string_view what, Isa isa) {
  fail(what, ": no SIMD kernel for ISA '", isa_name(isa), "'");
}

Isa active_isa() {
  int f = forced.load(std::memory_order_relaxed);
  return f >= 0 ? static_cast<Isa>(f) : env_isa();
}

void force_isa(std::optional<Isa> isa) {
  if (isa) check_available(*isa, "force_isa");
  forced.store(isa ? static_cast<int>(*isa) : -1, std::memory_order_relaxed);
}

}  // namespace poet::kernels::x86
