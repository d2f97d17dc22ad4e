// A fixed set of worker threads running data-parallel loops. The calling thread takes part,
// so a pool of N threads starts N-1 workers.
//
// Hand-off is cheap for back-to-back loops (a small graph's layers take ~10 us each): a loop is
// published by one atomic store, chunks are claimed with one compare-and-swap each on the
// claiming thread's own cache line, and no lock is taken unless a thread sleeps. After a loop,
// workers spin for a short, bounded while on the next loop before sleeping on a condition
// variable, and the caller spins on the loop's end before sleeping. Waking a sleeping thread
// costs tens of microseconds; an idle pool sleeps after kSpin, so it burns no core on a shared
// machine.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace poet {

class ThreadPool {
 public:
  // How long a thread waits actively for the next job (or for a job's end) before sleeping.
  static constexpr std::chrono::microseconds kSpin{100};
  // Chunks per thread of a kContiguous loop, unless the loop asks for another count: enough to
  // even out a slow thread by stealing.
  static constexpr int64_t kChunksPerThread = 4;

  // threads <= 0: one per hardware thread.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // How [0, n) is cut into the ranges the threads claim.
  //   kContiguous: [0, n) is cut into `chunks_per_thread` chunks per thread (fewer when that
  //     leaves a chunk less than `grain` items), and thread i owns the i-th run of them (the
  //     caller the first), running its own in order. A kernel's loop over an image's rows thus
  //     gives each thread the same part of the image layer after layer, and the rows it reads
  //     next are the ones it just wrote, still in its own core's L2. A thread out of chunks
  //     takes the last of the largest run left, so a thread slowed by the machine's other load
  //     does not hold the others up. (Measured on MobileNet v1 1.0 at batch 1 on 2 threads:
  //     with chunks taken in any order, each layer read half its input from the other core,
  //     and the depthwise layers cost 15-40% more.)
  //   kDynamic: chunks of `grain` items taken by whichever thread is free, for independent
  //     items (the images of a batch): the caller from the front, the workers from the back.
  enum class Schedule { kContiguous, kDynamic };

  // Calls fn(begin, end) on disjoint ranges covering [0, n), each at least `grain` long,
  // and returns when all are done. Not reentrant: fn must not call parallel_for. fn must not
  // throw (a worker has nowhere to send the exception).
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn,
                    Schedule schedule = Schedule::kContiguous,
                    int64_t chunks_per_thread = kChunksPerThread);

  // Where the threads' time went, for `poet bench --per_layer`'s "threads" column, counted
  // while timing is on (set_timing; off, loops read no clock): the workers' time inside
  // chunks, and the caller's time waiting in parallel_for for the workers' last chunks. Both
  // only grow; read them from the thread that calls parallel_for, between loops.
  struct Usage {
    int64_t worker_busy_ns = 0;
    int64_t caller_wait_ns = 0;
  };
  void set_timing(bool on) { timing_.store(on, std::memory_order_relaxed); }
  Usage usage() const;

  // The items [begin, end) that `thread` owns in a kContiguous loop over [0, n) on `threads`
  // threads: its run of chunks, which it runs unless a thread out of work takes some. Kernels
  // that cut an image into one band per thread (conv2d_nhwc.cc, depthwise_conv2d_nhwc.cc)
  // order their work so that these runs are the bands.
  static std::pair<int64_t, int64_t> owned_items(int threads, int64_t n, int64_t grain, int thread,
                                                 int64_t chunks_per_thread = kChunksPerThread);

 private:
  // A thread's unclaimed chunks [begin, end) of the job of generation `gen`, in one word, so
  // that a claim is one compare-and-swap and a thread still looking at an earlier job (whose
  // generation no longer matches) claims nothing. On a cache line of its own: the owner
  // claims from it without disturbing the others.
  struct alignas(64) Run {
    std::atomic<uint64_t> word{0};
    std::atomic<int64_t> busy_ns{0};  // a worker's Usage::worker_busy_ns, written by it alone
  };
  static constexpr int64_t kMaxChunks = 0xffff;
  static uint64_t pack(uint32_t gen, int64_t begin, int64_t end) {
    return uint64_t{gen} << 32 | static_cast<uint64_t>(begin) << 16 | static_cast<uint64_t>(end);
  }

  static int64_t contiguous_chunks(int64_t n, int64_t grain, int64_t threads,
                                   int64_t chunks_per_thread) {
    const int64_t per_thread = std::max<int64_t>(1, chunks_per_thread);
    return std::max<int64_t>(1, std::min({n / grain, threads * per_thread, kMaxChunks}));
  }
  // Stops and joins the workers.
  void stop();
  void worker_loop(int thread);
  // Waits for a job newer than `seen` (spinning, then sleeping); false when stopping.
  bool wait_for_job(uint32_t seen, uint32_t& gen);
  // Claims and runs chunks of job `gen` until none are left; returns how many it ran.
  int64_t run_chunks(int thread, uint32_t gen);
  // The caller, its own chunks done: waits (spinning, then sleeping) until the workers'
  // are.
  void wait_for_workers();
  // The next chunk of job `gen` for `thread` (0 is the caller), or none left.
  std::optional<int64_t> claim(int thread, uint32_t gen);
  // Counts `ran` chunks as finished, waking the caller if they were the last and it sleeps.
  void finish(int64_t ran);
  // First item of chunk c (c == chunks_: n).
  int64_t chunk_begin(int64_t c) const {
    return chunk_ > 0 ? std::min(job_size_, c * chunk_) : c * job_size_ / chunks_;
  }

  std::vector<std::jthread> workers_;
  std::unique_ptr<Run[]> runs_;  // one per thread
  // The job: written by the caller before it publishes the runs, read by a thread only after
  // it has claimed a chunk of that job.
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  // chunk_ > 0: chunks of chunk_ items (kDynamic); else chunks_ chunks of equal size.
  int64_t job_size_ = 0, chunk_ = 0, chunks_ = 0;
  alignas(64) std::atomic<int64_t> pending_ = 0;  // chunks of the job not yet finished
  alignas(64) std::atomic<uint32_t> generation_ = 0;
  // Sleeping is rare and goes through mutex_: workers wait on wake_ for a new generation, the
  // caller on done_ for pending_ to reach zero.
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::atomic<int> sleepers_ = 0;
  std::atomic<bool> caller_sleeps_ = false;
  std::atomic<bool> stopping_ = false;
  std::atomic<bool> timing_ = false;
  std::atomic<int64_t> caller_wait_ns_ = 0;
};

// Threads a loop on `pool` runs on: 1 without a pool.
inline int pool_threads(const ThreadPool* pool) { return pool ? pool->size() : 1; }

// Whether parallel_for below runs on the calling thread alone: one thread, or fewer than two
// grains of work (waking workers for one chunk only adds their wake-up latency).
inline bool runs_inline(int threads, int64_t n, int64_t grain) {
  return threads <= 1 || n < 2 * std::max<int64_t>(grain, 1);
}

// Runs fn over [0, n) on the pool, or inline (runs_inline, or no pool).
inline void parallel_for(ThreadPool* pool, int64_t n, int64_t grain,
                         const std::function<void(int64_t, int64_t)>& fn,
                         ThreadPool::Schedule schedule = ThreadPool::Schedule::kContiguous,
                         int64_t chunks_per_thread = ThreadPool::kChunksPerThread) {
  if (!runs_inline(pool_threads(pool), n, grain)) {
    pool->parallel_for(n, grain, fn, schedule, chunks_per_thread);
  } else if (n > 0) {
    fn(0, n);
  }
}

// The items of [0, n) that `thread` runs in a kContiguous parallel_for on a pool of `threads`,
// unless it steals or is stolen from.
inline std::pair<int64_t, int64_t> owned_items(
    int threads, int64_t n, int64_t grain, int thread,
    int64_t chunks_per_thread = ThreadPool::kChunksPerThread) {
  if (runs_inline(threads, n, grain)) return {0, thread == 0 ? n : 0};
  return ThreadPool::owned_items(threads, n, grain, thread, chunks_per_thread);
}

}  // namespace poet
