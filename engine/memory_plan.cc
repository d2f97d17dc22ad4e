#include "engine/memory_plan.h"

#include <algorithm>
#include <numeric>

namespace poet {
namespace {

int64_t aligned(int64_t bytes) {
  return (bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
}

bool overlap_in_time(const BufferLifetime& a, const BufferLifetime& b) {
  return a.first <= b.last && b.first <= a.last;
}

}  // namespace

ArenaLayout plan_arena(std::span<const BufferLifetime> buffers) {
  const size_t n = buffers.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  // Largest first; ties by first use, so the layout does not depend on the sort's whims.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return buffers[a].bytes > buffers[b].bytes;
  });
  ArenaLayout layout;
  layout.offsets.assign(n, 0);
  std::vector<size_t> placed;
  std::vector<std::pair<int64_t, int64_t>> taken;  // [offset, end) of placed buffers alive then
  for (size_t i : order) {
    taken.clear();
    for (size_t p : placed) {
      if (overlap_in_time(buffers[i], buffers[p]))
        taken.emplace_back(layout.offsets[p], layout.offsets[p] + aligned(buffers[p].bytes));
    }
    std::sort(taken.begin(), taken.end());
    // The first gap between the live buffers, in address order, that holds this one.
    const int64_t size = aligned(buffers[i].bytes);
    int64_t offset = 0;
    for (const auto& [begin, end] : taken) {
      if (begin - offset >= size) break;
      offset = std::max(offset, end);
    }
    layout.offsets[i] = offset;
    layout.bytes = std::max(layout.bytes, offset + size);
    placed.push_back(i);
  }
  return layout;
}

}  // namespace poet
