#include "engine/thread_pool.h"

#include <algorithm>

namespace poet {

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
}

void ThreadPool::run_chunks() {
  // Called with mutex_ held; claims chunks until none are left.
  while (next_ < job_size_) {
    int64_t begin = next_;
    int64_t end = std::min(job_size_, begin + chunk_);
    next_ = end;
    ++busy_;
    mutex_.unlock();
    (*job_)(begin, end);
    mutex_.lock();
    --busy_;
  }
}

void ThreadPool::worker_loop() {
  std::unique_lock lock(mutex_);
  uint64_t seen = generation_;
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
    if (stopping_) return;
    seen = generation_;
    run_chunks();
    if (busy_ == 0) done_.notify_all();
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain,
                              const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  std::unique_lock lock(mutex_);
  job_ = &fn;
  job_size_ = n;
  // A few chunks per thread balance uneven work without much locking.
  int64_t chunks = std::min<int64_t>(n / std::max<int64_t>(grain, 1), size() * 4);
  chunk_ =
      std::max<int64_t>(1, (n + std::max<int64_t>(chunks, 1) - 1) / std::max<int64_t>(chunks, 1));
  next_ = 0;
  ++generation_;
  wake_.notify_all();
  run_chunks();
  done_.wait(lock, [&] { return busy_ == 0 && next_ >= job_size_; });
  job_ = nullptr;
}

}  // namespace poet
