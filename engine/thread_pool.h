// A fixed set of worker threads running data-parallel loops. The calling thread takes part,
// so a pool of N threads starts N-1 workers.
//
// Hand-off is cheap for back-to-back loops (a small graph's layers take ~15 us each): after a
// loop, workers spin for a short, bounded while on the next job's generation before sleeping
// on a condition variable, and the caller spins on completion before sleeping. Waking a sleeping
// thread costs tens of microseconds; an idle pool sleeps after kSpin, so it burns no core on a
// shared machine.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace poet {

class ThreadPool {
 public:
  // How long a thread waits actively for the next job (or for a job's end) before sleeping.
  static constexpr std::chrono::microseconds kSpin{100};

  // threads <= 0: one per hardware thread.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // How [0, n) is cut into the ranges the threads claim.
  //   kContiguous: one range per thread (fewer if there are fewer grains), claimed in order,
  //     the first by the caller. A kernel's loop over an image's rows thus gives each thread
  //     the same part of the image layer after layer, so the rows it reads next are the ones
  //     it just wrote, still in its own core's L2. (Measured on MobileNet v1 1.0 at batch 1
  //     on 2 threads: with 4 chunks per thread taken in any order, the next layer read half
  //     its input from the other core, and the depthwise layers cost 15-40% more.)
  //   kDynamic: ranges of `grain` items, each claimed by whichever thread is free: for
  //     independent items (images of a batch) where a thread slowed by the machine's other
  //     load should not hold the rest up.
  enum class Schedule { kContiguous, kDynamic };

  // Calls fn(begin, end) on disjoint ranges covering [0, n), each at least `grain` long,
  // and returns when all are done. Not reentrant: fn must not call parallel_for. fn must not
  // throw (a worker has nowhere to send the exception).
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn,
                    Schedule schedule = Schedule::kContiguous);

 private:
  void worker_loop();
  void run_chunks(std::unique_lock<std::mutex>& lock);

  std::vector<std::jthread> workers_;
  // The job is read and chunks are claimed under mutex_; generation_ and busy_ change only
  // under it too, and are atomic so that spinning threads can watch them without it.
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_size_ = 0, chunk_ = 0, next_ = 0;
  std::atomic<int> busy_ = 0;  // chunks being run
  std::atomic<uint64_t> generation_ = 0;
  std::atomic<bool> stopping_ = false;
};

// Runs fn over [0, n) on the pool, or inline when pool is null or there are fewer than two
// grains of work (waking workers for one chunk only adds their wake-up latency).
inline void parallel_for(ThreadPool* pool, int64_t n, int64_t grain,
                         const std::function<void(int64_t, int64_t)>& fn,
                         ThreadPool::Schedule schedule = ThreadPool::Schedule::kContiguous) {
  if (pool && pool->size() > 1 && n >= 2 * std::max<int64_t>(grain, 1)) {
    pool->parallel_for(n, grain, fn, schedule);
  } else if (n > 0) {
    fn(0, n);
  }
}

}  // namespace poet
