#include "engine/thread_pool.h"

#include <algorithm>
#include <optional>
#include <system_error>

#include "engine/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace poet {
namespace {

// Waits up to ThreadPool::kSpin for done() without sleeping; true if it came. Pauses first
// (cheap, keeps the core's sibling fed), then yields so that a busy machine's other threads,
// which may be the ones we wait for, get the core.
template <class Done>
bool spin_until(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + ThreadPool::kSpin;
  for (int i = 0;; ++i) {
    if (done()) return true;
    if (i < 256) {
#if defined(__x86_64__) || defined(__i386__)
      _mm_pause();
#endif
    } else {
      std::this_thread::yield();
    }
    if (std::chrono::steady_clock::now() > deadline) return done();
  }
}

using Clock = std::chrono::steady_clock;

// Nanoseconds from `start` to now.
int64_t nanoseconds(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
}

uint32_t gen_of(uint64_t word) { return static_cast<uint32_t>(word >> 32); }
int64_t begin_of(uint64_t word) { return static_cast<int64_t>(word >> 16 & 0xffff); }
int64_t end_of(uint64_t word) { return static_cast<int64_t>(word & 0xffff); }

}  // namespace

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  runs_ = std::make_unique<Run[]>(threads);
  try {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
  } catch (const std::system_error& e) {
    // A process limit (address space, tasks) refused a thread. The started workers wait on
    // members that unwinding would destroy under them, which never returns: stop them first.
    const size_t started = workers_.size();
    stop();
    fail("cannot start thread ", started + 2, " of ", threads, " (", e.what(),
         "); give fewer threads (--threads)");
  }
}

ThreadPool::~ThreadPool() { stop(); }

void ThreadPool::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  workers_.clear();  // joins
}

std::optional<int64_t> ThreadPool::claim(int thread, uint32_t gen) {
  // Own chunks from the front.
  std::atomic<uint64_t>& own = runs_[thread].word;
  uint64_t w = own.load(std::memory_order_acquire);
  while (gen_of(w) == gen && begin_of(w) < end_of(w)) {
    if (own.compare_exchange_weak(w, pack(gen, begin_of(w) + 1, end_of(w)),
                                  std::memory_order_acq_rel))
      return begin_of(w);
  }
  // Then the back of whichever run has the most left, so a thief takes the chunks its owner
  // would have reached last.
  const int threads = size();
  for (;;) {
    std::atomic<uint64_t>* victim = nullptr;
    uint64_t victim_word = 0;
    for (int t = 0; t < threads; ++t) {
      const uint64_t v = runs_[t].word.load(std::memory_order_acquire);
      if (gen_of(v) == gen &&
          end_of(v) - begin_of(v) > end_of(victim_word) - begin_of(victim_word)) {
        victim = &runs_[t].word;
        victim_word = v;
      }
    }
    if (!victim) return std::nullopt;
    if (victim->compare_exchange_weak(victim_word,
                                      pack(gen, begin_of(victim_word), end_of(victim_word) - 1),
                                      std::memory_order_acq_rel))
      return end_of(victim_word) - 1;
  }
}

int64_t ThreadPool::run_chunks(int thread, uint32_t gen) {
  int64_t ran = 0;
  const bool timed = thread > 0 && timing_.load(std::memory_order_relaxed);
  Clock::time_point start;
  // A successful claim of job `gen` orders the job's fields, written before its runs were
  // published, before these reads.
  while (std::optional<int64_t> c = claim(thread, gen)) {
    if (timed && ran == 0) start = Clock::now();
    (*job_)(chunk_begin(*c), chunk_begin(*c + 1));
    ++ran;
  }
  // Counted before finish(), whose release the caller's return from parallel_for follows.
  if (timed && ran > 0)
    runs_[thread].busy_ns.fetch_add(nanoseconds(start), std::memory_order_relaxed);
  return ran;
}

ThreadPool::Usage ThreadPool::usage() const {
  Usage u;
  for (int t = 1; t < size(); ++t)
    u.worker_busy_ns += runs_[t].busy_ns.load(std::memory_order_relaxed);
  u.caller_wait_ns = caller_wait_ns_.load(std::memory_order_relaxed);
  return u;
}

void ThreadPool::finish(int64_t ran) {
  if (ran == 0 || pending_.fetch_sub(ran) != ran) return;
  // The last chunk: if the caller went to sleep, it set caller_sleeps_ before checking
  // pending_, so one of the two sees the other's write.
  if (caller_sleeps_.load()) {
    std::lock_guard lock(mutex_);
    done_.notify_all();
  }
}

bool ThreadPool::wait_for_job(uint32_t seen, uint32_t& gen) {
  auto ready = [&] { return stopping_.load() || generation_.load() != seen; };
  if (!spin_until(ready)) {
    std::unique_lock lock(mutex_);
    ++sleepers_;
    wake_.wait(lock, ready);
    --sleepers_;
  }
  gen = generation_.load();
  return !stopping_;
}

void ThreadPool::worker_loop(int thread) {
  // Generation 0 is the one before any job, even if this thread starts after the first job
  // was posted (reading generation_ here would skip that job).
  uint32_t seen = 0;
  uint32_t gen = 0;
  while (wait_for_job(seen, gen)) {
    seen = gen;
    finish(run_chunks(thread, gen));
  }
}

std::pair<int64_t, int64_t> ThreadPool::owned_items(int threads, int64_t n, int64_t grain,
                                                    int thread, int64_t chunks_per_thread) {
  grain = std::max<int64_t>(grain, 1);
  const int64_t chunks = contiguous_chunks(n, grain, threads, chunks_per_thread);
  auto item = [&](int64_t run) { return run * chunks / threads * n / chunks; };
  return {item(thread), item(thread + 1)};
}

void ThreadPool::parallel_for(int64_t n, int64_t grain,
                              const std::function<void(int64_t, int64_t)>& fn, Schedule schedule,
                              int64_t chunks_per_thread) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const uint32_t gen = generation_.load(std::memory_order_relaxed) + 1;
  const int64_t threads = size();
  job_ = &fn;
  job_size_ = n;
  if (schedule == Schedule::kDynamic) {
    // One shared run: the caller takes chunks from its front, the workers from its back.
    chunk_ = std::max(grain, (n + kMaxChunks - 1) / kMaxChunks);
    chunks_ = (n + chunk_ - 1) / chunk_;
  } else {
    chunk_ = 0;
    chunks_ = contiguous_chunks(n, grain, threads, chunks_per_thread);
  }
  pending_.store(chunks_, std::memory_order_relaxed);
  for (int64_t t = 0; t < threads; ++t) {
    const bool dynamic = schedule == Schedule::kDynamic;
    const int64_t begin = dynamic ? 0 : t * chunks_ / threads;
    const int64_t end = dynamic ? (t == 0 ? chunks_ : 0) : (t + 1) * chunks_ / threads;
    runs_[t].word.store(pack(gen, begin, end), std::memory_order_release);
  }
  generation_.store(gen);
  // A worker going to sleep counts itself in sleepers_ before checking generation_: one of the
  // two sees the other's write.
  if (sleepers_.load() > 0) {
    { std::lock_guard lock(mutex_); }
    wake_.notify_all();
  }
  const int64_t ran = run_chunks(0, gen);
  if (pending_.fetch_sub(ran) == ran) return;
  // Every chunk is claimed; wait for the workers still running theirs.
  if (!timing_.load(std::memory_order_relaxed)) return wait_for_workers();
  const Clock::time_point start = Clock::now();
  wait_for_workers();
  caller_wait_ns_.fetch_add(nanoseconds(start), std::memory_order_relaxed);
}

void ThreadPool::wait_for_workers() {
  if (spin_until([&] { return pending_.load() == 0; })) return;
  std::unique_lock lock(mutex_);
  caller_sleeps_ = true;
  done_.wait(lock, [&] { return pending_.load() == 0; });
  caller_sleeps_ = false;
}

}  // namespace poet
