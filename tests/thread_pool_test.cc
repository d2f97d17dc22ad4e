// ThreadPool: every index covered exactly once, for many tiny back-to-back loops (the case the
// spinning hand-off is for), odd sizes and grains, a pool destroyed while its workers spin or
// sleep, and the time accounting behind `poet bench --per_layer`'s threads column.
#include "engine/thread_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/error.h"
#include "tests/child_process.h"

namespace poet {
namespace {

// Runs parallel_for(n, grain) and checks that the ranges are disjoint, cover [0, n), and are
// each at least `grain` long except the last.
void check_cover(ThreadPool& pool, int64_t n, int64_t grain) {
  std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
  std::atomic<bool> short_chunk = false;
  pool.parallel_for(n, grain, [&](int64_t begin, int64_t end) {
    if (end - begin < grain && end != n) short_chunk = true;
    for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)]++;
  });
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(hits[static_cast<size_t>(i)], 1) << "n " << n << " i " << i;
  EXPECT_FALSE(short_chunk) << "n " << n << " grain " << grain;
}

// A thread that a process limit refuses is an error naming it, not a hang: the started workers
// waited on members the constructor's unwinding destroyed. Run in a child process whose address
// space is capped a little above what it uses, so that thread stacks run out; a hang ends as
// SIGALRM.
TEST(ThreadPool, AThreadTheSystemRefusesIsAnErrorNotAHang) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "a capped address space starves the sanitizer's own mappings";
#endif
  const std::string error = testing::error_in_child([] {
    long pages = 0;
    std::ifstream("/proc/self/statm") >> pages;
    testing::set_limit(RLIMIT_AS, static_cast<rlim_t>(pages) * 4096 + (rlim_t{64} << 20));
    ThreadPool pool(256);
  });
  EXPECT_EQ(error.find("cannot start thread "), 0u) << error;
}

TEST(ThreadPool, SizeCountsTheCaller) {
  EXPECT_EQ(ThreadPool(1).size(), 1);
  EXPECT_EQ(ThreadPool(3).size(), 3);
  EXPECT_GE(ThreadPool(0).size(), 1);
}

TEST(ThreadPool, CoversOddSizesAndGrains) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    for (int64_t n : {1, 2, 3, 7, 8, 9, 31, 100, 1001})
      for (int64_t grain : {1, 2, 3, 16, 2000}) check_cover(pool, n, grain);
  }
}

// The ranges each call got, and whether the caller ran it, under `schedule`.
struct Range {
  int64_t begin, end;
  bool on_caller;
  bool operator<(const Range& o) const { return begin < o.begin; }
};
std::vector<Range> ranges_of(ThreadPool& pool, int64_t n, int64_t grain,
                             ThreadPool::Schedule schedule) {
  std::mutex mutex;
  std::vector<Range> ranges;
  const auto caller = std::this_thread::get_id();
  pool.parallel_for(
      n, grain,
      [&](int64_t begin, int64_t end) {
        std::lock_guard lock(mutex);
        ranges.push_back({begin, end, std::this_thread::get_id() == caller});
      },
      schedule);
  std::sort(ranges.begin(), ranges.end());
  return ranges;
}

TEST(ThreadPool, ContiguousGivesEachThreadItsOwnRunOfChunks) {
  // Kernels rely on this for cache affinity: thread i gets the same part of every layer. The
  // caller owns the first run of chunks and starts it; here it is slow, so the worker, after
  // its own run, takes the caller's chunks from the back, leaving it its first.
  ThreadPool pool(2);
  const int64_t chunks = 2 * ThreadPool::kChunksPerThread;
  const auto caller = std::this_thread::get_id();
  std::mutex mutex;
  std::vector<Range> ranges;
  pool.parallel_for(800, 1, [&](int64_t begin, int64_t end) {
    const bool on_caller = std::this_thread::get_id() == caller;
    if (on_caller) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::lock_guard lock(mutex);
    ranges.push_back({begin, end, on_caller});
  });
  ASSERT_EQ(static_cast<int64_t>(ranges.size()), chunks);
  const int64_t chunk = 800 / chunks;
  std::vector<Range> by_caller, by_worker;
  for (const Range& r : ranges) (r.on_caller ? by_caller : by_worker).push_back(r);
  ASSERT_EQ(by_caller.size(), 1u);
  EXPECT_EQ(by_caller[0].begin, 0);
  EXPECT_EQ(by_caller[0].end, chunk);
  // The worker's own run first, in order, then the caller's from the back.
  ASSERT_EQ(static_cast<int64_t>(by_worker.size()), chunks - 1);
  for (int64_t i = 0; i < chunks / 2; ++i) EXPECT_EQ(by_worker[i].begin, (chunks / 2 + i) * chunk);
  for (int64_t i = chunks / 2; i < chunks - 1; ++i)
    EXPECT_EQ(by_worker[i].begin, (chunks - 1 - i) * chunk) << "stolen chunk " << i;
  // Fewer grains than threads: fewer ranges, none shorter than the grain.
  EXPECT_EQ(ranges_of(pool, 5, 3, ThreadPool::Schedule::kContiguous).size(), 1u);
  // owned_items names each thread's run (what the kernels' bands rely on), and the free
  // function the calling thread's whole loop when parallel_for runs it inline.
  using Items = std::pair<int64_t, int64_t>;
  EXPECT_EQ(ThreadPool::owned_items(2, 800, 1, 0), Items(0, 400));
  EXPECT_EQ(ThreadPool::owned_items(2, 800, 1, 1), Items(400, 800));
  EXPECT_EQ(ThreadPool::owned_items(3, 10, 1, 0), Items(0, 3));  // 10 chunks of 1: 3 + 3 + 4
  EXPECT_EQ(ThreadPool::owned_items(3, 10, 1, 2), Items(6, 10));
  // Chunks of at least a grain: 100 items in grains of 30 make 3 chunks, the caller's one.
  EXPECT_EQ(ThreadPool::owned_items(2, 100, 30, 0), Items(0, 33));
  EXPECT_EQ(ThreadPool::owned_items(2, 100, 30, 1), Items(33, 100));
  EXPECT_EQ(owned_items(2, 5, 3, 0), Items(0, 5));
  EXPECT_EQ(owned_items(2, 5, 3, 1), Items(0, 0));
}

TEST(ThreadPool, ContiguousCutsAsManyChunksPerThreadAsAsked) {
  // The convolutions cut a large layer into finer shares (conv_shares_per_thread), each a
  // chunk, so that a thread out of work can take a smaller last piece from the other.
  ThreadPool pool(2);
  for (int64_t per_thread : {int64_t{1}, ThreadPool::kChunksPerThread, int64_t{8}}) {
    SCOPED_TRACE(::testing::Message() << per_thread << " chunks per thread");
    std::mutex mutex;
    std::vector<Range> ranges;
    pool.parallel_for(
        800, 1,
        [&](int64_t begin, int64_t end) {
          std::lock_guard lock(mutex);
          ranges.push_back({begin, end, false});
        },
        ThreadPool::Schedule::kContiguous, per_thread);
    std::sort(ranges.begin(), ranges.end());
    const int64_t chunk = 800 / (2 * per_thread);
    ASSERT_EQ(static_cast<int64_t>(ranges.size()), 2 * per_thread);
    for (size_t i = 0; i < ranges.size(); ++i) {
      EXPECT_EQ(ranges[i].begin, static_cast<int64_t>(i) * chunk);
      EXPECT_EQ(ranges[i].end, static_cast<int64_t>(i + 1) * chunk);
    }
    // Each thread still owns half the items, however finely they are cut.
    using Items = std::pair<int64_t, int64_t>;
    EXPECT_EQ(ThreadPool::owned_items(2, 800, 1, 1, per_thread), Items(400, 800));
  }
  // Never more chunks than grains.
  EXPECT_EQ(ThreadPool::owned_items(2, 6, 1, 0, 8), (std::pair<int64_t, int64_t>(0, 3)));
}

TEST(ThreadPool, DynamicHandsOutGrainSizedRanges) {
  ThreadPool pool(2);
  const auto ranges = ranges_of(pool, 32, 4, ThreadPool::Schedule::kDynamic);
  ASSERT_EQ(ranges.size(), 8u);
  for (size_t i = 0; i < ranges.size(); ++i) {
    EXPECT_EQ(ranges[i].begin, 4 * static_cast<int64_t>(i));
    EXPECT_EQ(ranges[i].end, 4 * static_cast<int64_t>(i) + 4);
  }
}

TEST(ThreadPool, ZeroItemsCallsNothing) {
  ThreadPool pool(2);
  bool called = false;
  pool.parallel_for(0, 1, [&](int64_t, int64_t) { called = true; });
  parallel_for(&pool, 0, 1, [&](int64_t, int64_t) { called = true; });
  EXPECT_FALSE(called);
}

TEST(ThreadPool, ManyTinyLoopsBackToBack) {
  // Each loop's result must be complete when parallel_for returns: the next loop reads it.
  ThreadPool pool(3);
  std::vector<int64_t> a(64, 0);
  for (int round = 0; round < 20000; ++round) {
    const int64_t n = 2 + round % 63;
    pool.parallel_for(n, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) a[static_cast<size_t>(i)] += i + 1;
    });
  }
  int64_t total = 0;
  for (int64_t v : a) total += v;
  int64_t want = 0;
  for (int round = 0; round < 20000; ++round) {
    const int64_t n = 2 + round % 63;
    want += n * (n + 1) / 2;
  }
  EXPECT_EQ(total, want);
}

TEST(ThreadPool, LoopsAfterTheWorkersSlept) {
  // Past kSpin the workers block on the condition variable; the next loop must wake them.
  ThreadPool pool(2);
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(ThreadPool::kSpin * 5);
    std::atomic<int> other_threads = 0;
    const auto caller = std::this_thread::get_id();
    // Slow chunks so that the worker, once awake, takes some.
    pool.parallel_for(8, 1, [&](int64_t, int64_t) {
      if (std::this_thread::get_id() != caller) ++other_threads;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    });
    EXPECT_GT(other_threads, 0) << "round " << i;
    check_cover(pool, 97, 3);
  }
}

TEST(ThreadPool, UnevenChunksAllFinishBeforeReturn) {
  ThreadPool pool(2);
  for (int round = 0; round < 50; ++round) {
    std::atomic<int> done = 0;
    pool.parallel_for(
        4, 1,
        [&](int64_t begin, int64_t) {
          if (begin % 2 == round % 2) std::this_thread::sleep_for(std::chrono::microseconds(300));
          ++done;
        },
        ThreadPool::Schedule::kDynamic);
    ASSERT_EQ(done, 4) << "round " << round;
  }
}

TEST(ThreadPool, MoreChunksThanARunWordHolds) {
  // A run keeps its chunk indices in 16 bits: a dynamic loop of more grains than that gets
  // larger chunks, never a wrapped index.
  ThreadPool pool(2);
  const int64_t n = 3 * 65536 + 7;
  std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
  pool.parallel_for(
      n, 1,
      [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)]++;
      },
      ThreadPool::Schedule::kDynamic);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)], 1) << i;
}

TEST(ThreadPool, SchedulesAlternatingBackToBack) {
  // A worker late for one loop must claim nothing of it once the next is posted: alternate
  // the schedules and sizes so a stale claim would hit another loop's chunks and miscount.
  ThreadPool pool(3);
  for (int round = 0; round < 5000; ++round) {
    const auto schedule =
        round % 2 ? ThreadPool::Schedule::kDynamic : ThreadPool::Schedule::kContiguous;
    const int64_t n = 1 + round % 37;
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    pool.parallel_for(
        n, 1 + round % 3,
        [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)]++;
        },
        schedule);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)], 1) << round;
  }
}

TEST(ThreadPool, DestroyedWhileSpinningOrSleeping) {
  for (int i = 0; i < 50; ++i) {
    ThreadPool pool(3);
    if (i % 2) check_cover(pool, 10, 1);  // workers are spinning when the pool goes
    if (i % 5 == 0) std::this_thread::sleep_for(ThreadPool::kSpin * 3);  // or asleep
  }
  ThreadPool never_used(4);  // destroyed right after starting
}

TEST(ThreadPool, FreeFunctionRunsInlineForOneGrain) {
  ThreadPool pool(2);
  const auto caller = std::this_thread::get_id();
  bool inline_only = true;
  parallel_for(&pool, 5, 3, [&](int64_t begin, int64_t end) {
    inline_only = inline_only && std::this_thread::get_id() == caller && begin == 0 && end == 5;
  });
  EXPECT_TRUE(inline_only);
  std::vector<int> hits(6, 0);
  parallel_for(nullptr, 6, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)]++;
  });
  EXPECT_EQ(hits, std::vector<int>(6, 1));
}

TEST(ThreadPool, IdlePoolSleeps) {
  // An idle pool must not keep a core busy: its workers' CPU time stops growing after kSpin.
  ThreadPool pool(2);
  check_cover(pool, 10, 1);
  auto cpu = [] {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const double before = cpu();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_LT(cpu() - before, 0.02);  // spinning would use ~0.1 s
}

TEST(ThreadPool, UsageCountsTheWorkersChunksAndTheCallersWait) {
  // Two chunks on two threads: the caller's returns once the worker has started the other
  // (which only the worker can then run), the worker's sleeps 20 ms, so the worker is busy at
  // least that long and the caller waits for most of it.
  using std::chrono::milliseconds;
  constexpr int64_t kSleepNs = 20'000'000;
  ThreadPool pool(2);
  auto loop = [&] {
    std::atomic<bool> second_started = false;
    pool.parallel_for(2, 1, [&](int64_t begin, int64_t) {
      if (begin == 1) {
        second_started = true;
        std::this_thread::sleep_for(milliseconds(20));
      } else {
        while (!second_started) std::this_thread::yield();
      }
    });
  };
  loop();  // timing off: nothing counted
  EXPECT_EQ(pool.usage().worker_busy_ns, 0);
  EXPECT_EQ(pool.usage().caller_wait_ns, 0);
  pool.set_timing(true);
  loop();
  const ThreadPool::Usage once = pool.usage();
  EXPECT_GE(once.worker_busy_ns, kSleepNs);
  EXPECT_GE(once.caller_wait_ns, kSleepNs / 4);
  loop();  // the counts only grow
  EXPECT_GE(pool.usage().worker_busy_ns, once.worker_busy_ns + kSleepNs);
  pool.set_timing(false);
  const ThreadPool::Usage off = pool.usage();
  loop();
  EXPECT_EQ(pool.usage().worker_busy_ns, off.worker_busy_ns);
  EXPECT_EQ(pool.usage().caller_wait_ns, off.caller_wait_ns);
}

}  // namespace
}  // namespace poet
