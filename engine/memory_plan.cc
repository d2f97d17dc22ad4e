#include "engine/memory_plan.h"

#include <algorithm>
#include <numeric>

#include "engine/tensor.h"

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
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return buffers[a].bytes > buffers[b].bytes; });
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
  // The lower bound, from the bytes alive at each step (a difference array over the steps).
  int steps = 0;
  for (const BufferLifetime& b : buffers) steps = std::max(steps, b.last + 1);
  std::vector<int64_t> change(static_cast<size_t>(steps) + 1, 0);
  for (const BufferLifetime& b : buffers) {
    change[b.first] += aligned(b.bytes);
    change[b.last + 1] -= aligned(b.bytes);
  }
  int64_t live = 0;
  for (int64_t c : change) layout.peak_live = std::max(layout.peak_live, live += c);
  return layout;
}

ActivationArena::ActivationArena(const std::vector<std::vector<int64_t>>& bytes,
                                 std::span<const int> dies) {
  std::vector<BufferLifetime> buffers;
  std::vector<std::pair<size_t, size_t>> owners;  // (step, output) of each buffer
  slots_.resize(bytes.size());
  for (size_t s = 0; s < bytes.size(); ++s) {
    slots_[s].resize(bytes[s].size());
    for (size_t k = 0; k < bytes[s].size(); ++k) {
      if (bytes[s][k] <= 0) continue;
      buffers.push_back({bytes[s][k], static_cast<int>(s), dies[s]});
      owners.emplace_back(s, k);
    }
  }
  const ArenaLayout layout = plan_arena(buffers);
  for (size_t b = 0; b < buffers.size(); ++b)
    slots_[owners[b].first][owners[b].second] = {layout.offsets[b], buffers[b].bytes};
  bytes_ = layout.bytes;
  peak_live_ = layout.peak_live;
}

ActivationArena::Lease ActivationArena::acquire() {
  if (bytes_ == 0) return {};
  {
    std::lock_guard lock(mutex_);
    if (!free_.empty()) {
      std::shared_ptr<std::byte> buffer = std::move(free_.back());
      free_.pop_back();
      return {this, std::move(buffer)};
    }
  }
  // NaN in every float: a kernel that counted on a zeroed output would show at once.
  return {this, allocate_aligned(static_cast<size_t>(bytes_), std::byte{0xff})};
}

ActivationArena::Lease::~Lease() {
  if (!arena_ || !buffer_) return;
  std::lock_guard lock(arena_->mutex_);
  arena_->free_.push_back(std::move(buffer_));
}

bool ActivationArena::Lease::holds(const std::byte* p) const {
  return buffer_ && p >= base() && p < base() + arena_->bytes_;
}

}  // namespace poet
