// What poet reads from CPUID (the ISAs, the L1 data cache's ways, PREFETCHW) against what Linux
// read at boot, the POET_ISA override, the prefetch walk, and the FMA-peak loops `poet bench`
// measures the machine with.
#include "kernels/x86/cpu_features.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>

#include "kernels/x86/fma_peak.h"
#include "kernels/x86/prefetch_for_writing.h"
#include "tests/expect_error.h"

namespace poet::testing {
namespace {

namespace x86 = kernels::x86;

TEST(CpuFeatures, IsaNamesAndOverride) {
  EXPECT_EQ(x86::parse_isa("avx512", "test"), x86::Isa::kAvx512);
  expect_error([] { x86::parse_isa("sse9", "POET_ISA"); }, "POET_ISA: unknown ISA 'sse9'");
  const x86::Isa before = x86::active_isa();  // best available, or POET_ISA's choice
  // AVX-512 here implies AVX2+FMA (poet never uses one without the other).
  if (x86::cpu_features().avx512) {
    EXPECT_TRUE(x86::cpu_features().avx2_fma);
  }
  for (x86::Isa isa : {x86::Isa::kRef, x86::Isa::kAvx2, x86::Isa::kAvx512}) {
    if (x86::isa_available(isa)) {
      x86::force_isa(isa);
      EXPECT_EQ(x86::active_isa(), isa);
    } else {
      EXPECT_THROW(x86::force_isa(isa), Error);
    }
  }
  x86::force_isa(std::nullopt);
  EXPECT_EQ(x86::active_isa(), before);
}

// CPUID's L1 data cache ways against what Linux read from it at boot, where it says.
TEST(CpuFeatures, L1DataCacheWays) {
  const int ways = x86::cpu_features().l1d_ways;
  EXPECT_GE(ways, 0);
  EXPECT_LE(ways, 64);
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index);
    std::ifstream level(dir + "/level"), type(dir + "/type"),
        sys_ways(dir + "/ways_of_associativity");
    int l = 0, w = 0;
    std::string t;
    if (!(level >> l) || !(type >> t) || !(sys_ways >> w)) break;
    if (l == 1 && t == "Data" && ways > 0) {
      EXPECT_EQ(ways, w);
    }
  }
}

// CPUID's PREFETCHW bit against Linux's name for it, where /proc/cpuinfo lists the flags.
TEST(CpuFeatures, PrefetchW) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("flags", 0) != 0) continue;
    EXPECT_EQ(x86::cpu_features().prefetchw, (line + " ").find(" 3dnowprefetch ") != line.npos);
    return;
  }
  GTEST_SKIP() << "no flags line in /proc/cpuinfo";
}

// The lines asked for: every line [begin, end) touches, and the address where the next starts.
TEST(PrefetchForWriting, WalksTheLinesOfASpan) {
  if (!x86::cpu_features().prefetchw) GTEST_SKIP() << "no PREFETCHW on this CPU";
  alignas(64) static char buffer[256];
  const auto base = reinterpret_cast<std::uintptr_t>(buffer);
  EXPECT_EQ(x86::prefetch_for_writing(base + 4, base + 132), base + 192);  // 3 lines
  EXPECT_EQ(x86::prefetch_for_writing(base + 64, base + 128), base + 128);
  EXPECT_EQ(x86::prefetch_for_writing(base + 64, base + 64), base + 64);  // empty
  // Lines before `fetched` are not asked for again: a span wholly before it asks for none.
  EXPECT_EQ(x86::prefetch_for_writing(base + 32, base + 64, base + 128), base + 128);
  // Only outputs larger than an L2 fetch their lines ahead.
  EXPECT_EQ(x86::prefetches_output(int64_t{2} << 20), x86::cpu_features().prefetchw);
  EXPECT_FALSE(x86::prefetches_output(int64_t{1} << 20));
}

// Each ISA's FMA loop runs on this machine (its instructions are the ISA's), and the peak
// `poet bench` reports is a rate; ref, which has no loop, is refused. What the peak reads is
// the benchmarks' to say, never a unit test's.
TEST(FmaPeak, EachAvailableIsaMeasuresARate) {
  for (x86::Isa isa : {x86::Isa::kAvx2, x86::Isa::kAvx512}) {
    if (!x86::isa_available(isa)) continue;
    const double peak = x86::measure_fma_peak(isa, 0.01);
    EXPECT_TRUE(std::isfinite(peak) && peak > 0) << x86::isa_name(isa) << ": " << peak;
  }
  expect_error([] { x86::measure_fma_peak(x86::Isa::kRef); },
               "measure_fma_peak: ISA 'ref' has no FMA loop on this machine");
}

}  // namespace
}  // namespace poet::testing
