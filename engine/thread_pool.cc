#include "engine/thread_pool.h"

#include <algorithm>

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
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  workers_.clear();  // joins
}

void ThreadPool::run_chunks(std::unique_lock<std::mutex>& lock) {
  // Called with the lock held; claims chunks until none are left.
  while (next_ < job_size_) {
    int64_t begin = next_;
    int64_t end = std::min(job_size_, begin + chunk_);
    next_ = end;
    ++busy_;
    const auto* job = job_;
    lock.unlock();
    (*job)(begin, end);
    lock.lock();
    --busy_;
  }
}

void ThreadPool::worker_loop() {
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
    run_chunks(lock);
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
  if (schedule == Schedule::kDynamic) {
    chunk_ = grain;
  } else {
    const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(n / grain, size()));
    chunk_ = (n + chunks - 1) / chunks;
  }
  next_ = 0;
  ++generation_;
  wake_.notify_all();
  run_chunks(lock);
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
