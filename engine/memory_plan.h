// The activation arena: where each activation of a run lives, planned once at load.
//
// Every activation whose size is known at load gets an offset in one buffer (the arena), and
// two activations share bytes only when their lifetimes (the steps from the one that writes it
// to the last that reads it) do not overlap. A run then allocates nothing for them, and the
// bytes a layer writes are the ones a layer a little earlier read: still in cache.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace poet {

// An activation: `bytes` long, written by step `first` and last read by step `last`
// (first <= last; it must not share bytes with anything alive at any step in between).
struct BufferLifetime {
  int64_t bytes = 0;
  int first = 0, last = 0;
};

struct ArenaLayout {
  std::vector<int64_t> offsets;  // per buffer, a multiple of kArenaAlignment
  int64_t bytes = 0;             // the arena's size
};

inline constexpr int64_t kArenaAlignment = 64;

// Greedy by size (as TFLite's arena planner): the largest buffers are placed first, each at the
// lowest aligned offset that overlaps no placed buffer alive at the same time. Within a few
// percent of the largest set of activations alive at once on the graphs poet runs.
ArenaLayout plan_arena(std::span<const BufferLifetime> buffers);

}  // namespace poet
