#include "engine/thread_pool.h"

#include <algorithm>
#include <optional>

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

}  // namespace

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ranges_.resize(threads);
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  workers_.clear();  // joins
}

std::optional<int64_t> ThreadPool::claim(int thread) {
  // Own chunks from the front; then the back of whichever range has the most left, so a thief
  // takes the chunks its owner would have reached last.
  Range& own = ranges_[thread];
  if (own.begin < own.end) return own.begin++;
  Range* victim = nullptr;
  for (Range& r : ranges_) {
    if (r.end - r.begin > 0 && (!victim || r.end - r.begin > victim->end - victim->begin))
      victim = &r;
  }
  if (!victim) return std::nullopt;
  return --victim->end;
}

void ThreadPool::run_chunks(std::unique_lock<std::mutex>& lock, int thread) {
  // Called with the lock held; claims chunks until none are left.
  while (std::optional<int64_t> c = claim(thread)) {
    const int64_t begin = chunk_begin(*c), end = chunk_begin(*c + 1);
    ++busy_;
    const auto* job = job_;
    lock.unlock();
    (*job)(begin, end);
    lock.lock();
    --busy_;
  }
}

void ThreadPool::worker_loop(int thread) {
  // Generation 0 is the one before any job, even if this thread starts after the first job
  // was posted (reading generation_ here would skip that job).
  uint64_t seen = 0;
  std::unique_lock lock(mutex_);
  for (;;) {
    if (!stopping_ && generation_ == seen) {
      lock.unlock();
      spin_until([&] { return stopping_.load() || generation_.load() != seen; });
      lock.lock();
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
    }
    if (stopping_) return;
    seen = generation_;
    run_chunks(lock, thread);
    if (busy_ == 0) done_.notify_all();
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain,
                              const std::function<void(int64_t, int64_t)>& fn, Schedule schedule) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  std::unique_lock lock(mutex_);
  job_ = &fn;
  job_size_ = n;
  const int64_t threads = size();
  if (schedule == Schedule::kDynamic) {
    chunk_ = grain;
    chunks_ = (n + grain - 1) / grain;
    // One shared range: the caller takes chunks from its front, the workers from its back.
    for (Range& r : ranges_) r = {0, 0};
    ranges_[0] = {0, chunks_};
  } else {
    chunk_ = 0;
    chunks_ = std::max<int64_t>(1, std::min(n / grain, threads * kChunksPerThread));
    for (int64_t t = 0; t < threads; ++t)
      ranges_[t] = {t * chunks_ / threads, (t + 1) * chunks_ / threads};
  }
  ++generation_;
  wake_.notify_all();
  run_chunks(lock, 0);
  // Every chunk is claimed; wait for the workers still running theirs.
  if (busy_ != 0) {
    lock.unlock();
    spin_until([&] { return busy_.load() == 0; });
    lock.lock();
    done_.wait(lock, [&] { return busy_ == 0; });
  }
  job_ = nullptr;
}

}  // namespace poet
