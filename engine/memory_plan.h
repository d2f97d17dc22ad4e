// The activation arena: where each activation of a run lives, planned once at load.
//
// Every activation whose size is known at load gets an offset in one buffer (the arena), and
// two activations share bytes only when their lifetimes (the steps from the one that writes it
// to the last that reads it) do not overlap. A run then allocates nothing for them, and the
// bytes a layer writes are the ones a layer a little earlier read: still in cache.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
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
  int64_t peak_live = 0;         // the most (aligned) bytes alive at one step: no layout is smaller
};

inline constexpr int64_t kArenaAlignment = 64;

// Greedy by size (as TFLite's arena planner): the largest buffers are placed first, each at the
// lowest aligned offset that overlaps no placed buffer alive at the same time. A chain (every
// buffer alive only beside buffers of the other of two alternating sets: a network of single
// layers, like MobileNet) is instead laid out in two regions, each buffer centred on its
// region's middle, when that takes no more bytes: a layer split by rows over two threads then
// writes the bytes each thread wrote before (memory_plan.cc).
ArenaLayout plan_arena(std::span<const BufferLifetime> buffers);

// A planned arena and the buffers that follow its layout: one per run in flight (a whole-batch
// run, or each thread's image of a split batch).
class ActivationArena {
 public:
  // An output's place: its offset and planned size, or offset -1 for an output allocated on
  // its own. `inside`: the output lies within a later step's output (an Alias).
  struct Slot {
    int64_t offset = -1, bytes = 0;
    bool inside = false;
  };

  // Output `output` of step `step` laid out within output 0 of the later step `into`, from
  // byte `offset` of it on: a concatenation's input that its producer writes in place. Its
  // bytes are those of `into`'s output, which is then alive from the earliest such step on.
  struct Alias {
    size_t step = 0, output = 0, into = 0;
    int64_t offset = 0;
  };

  // Steps [first, last] that may run in any order, or at once (parallel branches): a buffer
  // alive at one of them is alive at all of them.
  struct Together {
    int first = 0, last = 0;
  };

  // `bytes[s][k]`: the size of step s's output k, or 0 to leave it out of the arena; `dies[s]`:
  // the last step reading step s's outputs. An alias whose output or `into`'s output is left
  // out is ignored.
  ActivationArena(const std::vector<std::vector<int64_t>>& bytes, std::span<const int> dies,
                  std::span<const Alias> aliases = {}, std::span<const Together> together = {});

  int64_t bytes() const { return bytes_; }
  int64_t peak_live() const { return peak_live_; }
  const Slot& slot(size_t step, size_t output) const { return slots_[step][output]; }

  // A buffer for one run; goes back to the arena's free list when the lease ends. Null base
  // when nothing is planned.
  class Lease {
   public:
    Lease() = default;
    Lease(ActivationArena* arena, std::shared_ptr<std::byte> buffer)
        : arena_(arena), buffer_(std::move(buffer)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();

    std::byte* base() const { return buffer_.get(); }
    // The arena whose layout the buffer follows (only with a base).
    const ActivationArena& arena() const { return *arena_; }
    // The buffer from `offset` on, keeping the buffer alive.
    std::shared_ptr<std::byte> view(int64_t offset) const { return {buffer_, base() + offset}; }
    // Whether p points into the buffer.
    bool holds(const std::byte* p) const;

   private:
    ActivationArena* arena_ = nullptr;
    std::shared_ptr<std::byte> buffer_;
  };
  Lease acquire();

 private:
  std::vector<std::vector<Slot>> slots_;
  int64_t bytes_ = 0, peak_live_ = 0;
  std::mutex mutex_;
  std::vector<std::shared_ptr<std::byte>> free_;  // buffers of bytes_, none leased
};

// A pass's arena where the load may have left sizes open (a feed of batch -1, sizes known only
// at run time). With every size known it is planned at once; with some open, after a run, from
// the sizes that run met, and again, larger, when a later run meets larger ones (a smaller run
// fits the plan). Runs may overlap: each keeps the arena it started with.
class GrowingArena {
 public:
  // As ActivationArena's, with -1 in `bytes` for an output whose size the runs tell; no arena
  // larger than `limit` bytes is planned (its outputs then allocate on their own).
  GrowingArena(std::vector<std::vector<int64_t>> bytes, std::vector<int> dies,
               std::vector<ActivationArena::Alias> aliases,
               std::vector<ActivationArena::Together> together, int64_t limit);

  // The arena a run takes; null while there is none.
  std::shared_ptr<ActivationArena> current() const;
  // Whether runs tell their sizes (some were open at load).
  bool open() const { return !open_.empty(); }
  // A run's sizes, per step and output (-1: unknown; a step the run did not take may be left
  // out); only those open at load are read. Plans again when one is larger than planned.
  void record(const std::vector<std::vector<int64_t>>& sizes);

 private:
  void plan();  // with mutex_ held

  std::vector<std::vector<int64_t>> bytes_;  // the sizes planned, the open ones the largest run's
  std::vector<std::pair<size_t, size_t>> open_;  // (step, output) left open at load
  std::vector<int> dies_;
  std::vector<ActivationArena::Alias> aliases_;
  std::vector<ActivationArena::Together> together_;
  int64_t limit_ = 0;
  mutable std::mutex mutex_;
  std::shared_ptr<ActivationArena> arena_;
};

}  // namespace poet
