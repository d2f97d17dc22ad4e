// Fetching the cache lines a kernel is about to store into, ahead of the stores.
//
// A graph's layers write outputs whose lines were last touched a whole run earlier: each store
// of such a line waits for memory, and on several cores for the core that last held the line
// to give it up. A layer that stores little per unit of arithmetic hides that; one that
// stores fast (Inception v3's stem: 24 vectors every ~330 cycles; its Winograd layers'
// output transforms) stalls on it. These layers ask for the lines a few tiles ahead of
// their stores (kernels/x86/conv2d_nhwc_blocked.h, conv2d_winograd.cc).
#pragma once

#include <cstdint>

#include "kernels/x86/cpu_features.h"

namespace poet::kernels::x86 {

// Whether a layer that writes `bytes` of output per image fetches its lines ahead: where the
// CPU has PREFETCHW, and the output is larger than a 1 MiB L2, so that its lines cannot all
// still be in cache from their last use. The layers measured to gain write 2.8-5.5 MB;
// smaller outputs are more often found in cache, where the prefetches only cost instructions.
inline bool prefetches_output(int64_t bytes) {
  constexpr int64_t kMinBytes = int64_t{1} << 20;
  return cpu_features().prefetchw && bytes > kMinBytes;
}

// Asks for the cache lines holding bytes [begin, end) in the state a store needs (PREFETCHW:
// only where cpu_features().prefetchw says so), from `fetched` on if that is further, and
// returns where the next line starts: a caller walking pixels in address order passes it back,
// so that pixels narrower than a line (8 channels) do not ask for their shared line twice. A plain
// read prefetch would bring a line that the other core had read in shared state, and its store
// would still wait to own it: Inception v3's stem on two threads ran 16% slower with one, 30%
// faster with PREFETCHW. Addresses are integers because the lines ahead may lie past the
// caller's buffer: a prefetch never faults, but a pointer there would be undefined. asm,
// because GCC 12 deleted loops of __builtin_prefetch that did nothing else.
inline std::uintptr_t prefetch_for_writing(std::uintptr_t begin, std::uintptr_t end,
                                           std::uintptr_t fetched = 0) {
  constexpr std::uintptr_t kLineBytes = 64;
  std::uintptr_t line = begin & ~(kLineBytes - 1);
  if (line < fetched) line = fetched;
  for (; line < end; line += kLineBytes) asm volatile("prefetchw (%0)" ::"r"(line));
  return line;
}

}  // namespace poet::kernels::x86
