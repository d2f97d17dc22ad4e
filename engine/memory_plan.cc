#include "engine/memory_plan.h"

#include <algorithm>
#include <numeric>
#include <optional>

#include "engine/tensor.h"

namespace poet {
namespace {

int64_t aligned(int64_t bytes) {
  return (bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
}

// The bytes below a centred buffer's middle: half of it, rounded up to the alignment.
int64_t half_size(int64_t bytes) { return aligned((bytes + 1) / 2); }

bool overlap_in_time(const BufferLifetime& a, const BufferLifetime& b) {
  return a.first <= b.last && b.first <= a.last;
}

// The greedy layout: largest first, each at the lowest offset clear of the live buffers.
ArenaLayout plan_by_size(std::span<const BufferLifetime> buffers) {
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
  return layout;
}

// The centred layout of a chain, or none when the buffers are not one: each buffer goes to
// the first of two regions holding no buffer alive at the same time (a chain of layers, each
// reading only the one before, alternates), centred on its region's middle. A layer whose
// threads split its output rows in two then writes, on either side of the middle, the bytes
// the same thread wrote in the layer two before. Laid out lowest first, a 56x56x128 output
// (1.6 MB) had its first half on the bytes the second thread had written three layers earlier
// (a 3.2 MB one): MobileNet v1 1.0 at batch 1 on 2 threads ran its 56x56 and 28x28
// depthwise layers slower than on one thread, each line fetched from the other core (Zen 5,
// 2 vCPUs; 6-9% end to end).
std::optional<ArenaLayout> plan_chain(std::span<const BufferLifetime> buffers) {
  const size_t n = buffers.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return buffers[a].first < buffers[b].first; });
  std::vector<int> region(n, -1);
  int64_t half[2] = {0, 0};  // the largest aligned half-buffer of each region
  for (size_t k = 0; k < n; ++k) {
    const size_t i = order[k];
    bool clash[2] = {false, false};
    for (size_t j = 0; j < k; ++j)
      if (overlap_in_time(buffers[i], buffers[order[j]])) clash[region[order[j]]] = true;
    if (clash[0] && clash[1]) return std::nullopt;
    region[i] = clash[0] ? 1 : 0;
    half[region[i]] = std::max(half[region[i]], half_size(buffers[i].bytes));
  }
  const int64_t middle[2] = {half[0], 2 * half[0] + half[1]};
  ArenaLayout layout;
  layout.offsets.resize(n);
  for (size_t i = 0; i < n; ++i)
    layout.offsets[i] = middle[region[i]] - half_size(buffers[i].bytes);
  layout.bytes = 2 * (half[0] + half[1]);
  return layout;
}

}  // namespace

ArenaLayout plan_arena(std::span<const BufferLifetime> buffers) {
  ArenaLayout layout = plan_by_size(buffers);
  if (std::optional<ArenaLayout> chain = plan_chain(buffers); chain && chain->bytes <= layout.bytes)
    layout = std::move(*chain);
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
                                 std::span<const int> dies, std::span<const Alias> aliases,
                                 std::span<const Together> together) {
  std::vector<const Alias*> kept;  // both outputs in the arena
  std::vector<int> first(bytes.size());
  std::iota(first.begin(), first.end(), 0);  // the step writing each step's output 0 first
  for (const Alias& a : aliases) {
    if (bytes[a.step][a.output] <= 0 || bytes[a.into][0] <= 0) continue;
    kept.push_back(&a);
    first[a.into] = std::min(first[a.into], static_cast<int>(a.step));
  }
  auto aliased = [&](size_t s, size_t k) {
    return std::ranges::any_of(kept,
                               [&](const Alias* a) { return a->step == s && a->output == k; });
  };
  std::vector<BufferLifetime> buffers;
  std::vector<std::pair<size_t, size_t>> owners;  // (step, output) of each buffer
  slots_.resize(bytes.size());
  for (size_t s = 0; s < bytes.size(); ++s) {
    slots_[s].resize(bytes[s].size());
    for (size_t k = 0; k < bytes[s].size(); ++k) {
      if (bytes[s][k] <= 0 || aliased(s, k)) continue;
      buffers.push_back({bytes[s][k], k == 0 ? first[s] : static_cast<int>(s), dies[s]});
      owners.emplace_back(s, k);
    }
  }
  for (BufferLifetime& b : buffers) {
    for (const Together& t : together) {
      if (b.first >= t.first && b.first <= t.last) b.first = t.first;
      if (b.last >= t.first && b.last <= t.last) b.last = t.last;
    }
  }
  const ArenaLayout layout = plan_arena(buffers);
  for (size_t b = 0; b < buffers.size(); ++b)
    slots_[owners[b].first][owners[b].second] = {layout.offsets[b], buffers[b].bytes};
  for (const Alias* a : kept)
    slots_[a->step][a->output] = {slots_[a->into][0].offset + a->offset, bytes[a->step][a->output],
                                  /*inside=*/true};
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

GrowingArena::GrowingArena(std::vector<std::vector<int64_t>> bytes, std::vector<int> dies,
                           std::vector<ActivationArena::Alias> aliases,
                           std::vector<ActivationArena::Together> together, int64_t limit)
    : bytes_(std::move(bytes)),
      dies_(std::move(dies)),
      aliases_(std::move(aliases)),
      together_(std::move(together)),
      limit_(limit) {
  for (size_t s = 0; s < bytes_.size(); ++s)
    for (size_t k = 0; k < bytes_[s].size(); ++k)
      if (bytes_[s][k] < 0) open_.emplace_back(s, k);
  // Planned now, an open output would have no place: the plan waits for a run's sizes.
  if (open_.empty()) plan();
}

std::shared_ptr<ActivationArena> GrowingArena::current() const {
  // A plan of known sizes never changes: every run (each image of a split batch) takes it
  // without the lock.
  if (open_.empty()) return arena_;
  std::lock_guard lock(mutex_);
  return arena_;
}

void GrowingArena::record(const std::vector<std::vector<int64_t>>& sizes) {
  std::lock_guard lock(mutex_);
  bool grew = false;
  for (const auto& [s, k] : open_) {
    if (s < sizes.size() && k < sizes[s].size() && sizes[s][k] > bytes_[s][k]) {
      bytes_[s][k] = sizes[s][k];
      grew = true;
    }
  }
  if (grew) plan();
}

void GrowingArena::plan() {
  auto arena = std::make_shared<ActivationArena>(bytes_, dies_, aliases_, together_);
  arena_ = arena->bytes() <= limit_ ? std::move(arena) : nullptr;
}

}  // namespace poet
