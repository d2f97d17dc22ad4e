// The activation arena: plan_arena's layouts (no two buffers alive at once share a byte,
// buffers that never coexist do, and a chain's buffers are centred in two regions), and the
// executor's use of it: repeated runs give fresh results, fetched views of arena tensors
// outlive the next run, sizes beyond the plan still run, and sizes left open at load are
// planned from the runs (GrowingArena).
#include "engine/memory_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "engine/executor.h"
#include "importers/tensorflow/graphdef.h"
#include "tests/fixtures.h"
#include "tests/kernel_test_util.h"
#include "tests/op_test_util.h"
#include "tests/test_graph.h"

namespace poet::testing {
namespace {

// Fails the test if two buffers alive at the same step share a byte, or one is misaligned or
// outside the arena.
void expect_valid(std::span<const BufferLifetime> buffers, const ArenaLayout& layout) {
  ASSERT_EQ(layout.offsets.size(), buffers.size());
  for (size_t i = 0; i < buffers.size(); ++i) {
    EXPECT_EQ(layout.offsets[i] % kArenaAlignment, 0);
    EXPECT_LE(layout.offsets[i] + buffers[i].bytes, layout.bytes);
    for (size_t j = 0; j < i; ++j) {
      const bool together =
          buffers[i].first <= buffers[j].last && buffers[j].first <= buffers[i].last;
      const bool share = layout.offsets[i] < layout.offsets[j] + buffers[j].bytes &&
                         layout.offsets[j] < layout.offsets[i] + buffers[i].bytes;
      EXPECT_FALSE(together && share) << "buffers " << j << " and " << i;
    }
  }
}

TEST(PlanArena, BuffersAliveTogetherGetSeparateBytes) {
  // A chain: each layer's output is read by the next, so neighbours coexist.
  const std::vector<BufferLifetime> chain = {{1000, 0, 1}, {500, 1, 2}, {1000, 2, 3}, {10, 3, 4}};
  const ArenaLayout layout = plan_arena(chain);
  expect_valid(chain, layout);
  // Buffers 0 and 2 never coexist: the arena holds the largest pair alive at once.
  EXPECT_EQ(layout.offsets[0], layout.offsets[2]);
  EXPECT_EQ(layout.bytes, 1024 + 512);
  EXPECT_EQ(layout.peak_live, 1024 + 512);
}

// The byte at the middle of a buffer laid out at `offset`: its first half, rounded up to the
// alignment, lies below it.
int64_t middle(int64_t offset, int64_t bytes) { return offset + ((bytes + 1) / 2 + 63) / 64 * 64; }

TEST(PlanArena, AChainAlternatesBetweenTwoCentredRegions) {
  // Neighbours coexist; every other buffer is centred on the same byte, so a layer split by
  // rows in two writes below that byte the half its thread wrote two layers before. Sizes as
  // in MobileNet, the largest of each region neighbours: no larger than the least possible.
  const std::vector<BufferLifetime> chain = {{1000, 0, 1}, {2000, 1, 2}, {500, 2, 3},
                                             {1000, 3, 4}, {250, 4, 5},  {500, 5, 6}};
  const ArenaLayout layout = plan_arena(chain);
  expect_valid(chain, layout);
  for (int i : {2, 4}) {
    EXPECT_EQ(middle(layout.offsets[i], chain[i].bytes), middle(layout.offsets[0], 1000)) << i;
    EXPECT_EQ(middle(layout.offsets[i + 1], chain[i + 1].bytes), middle(layout.offsets[1], 2000))
        << i + 1;
  }
  EXPECT_EQ(layout.bytes, 1024 + 2048);
  EXPECT_EQ(layout.peak_live, 1024 + 2048);
}

TEST(PlanArena, AChainWhoseCentredLayoutIsLargerKeepsTheLowestOffsets) {
  // Large buffers in both regions, never alive together: centring would take 4096 + 4096.
  const std::vector<BufferLifetime> chain = {{4096, 0, 1}, {64, 1, 2}, {64, 2, 3}, {4096, 3, 4}};
  const ArenaLayout layout = plan_arena(chain);
  expect_valid(chain, layout);
  EXPECT_EQ(layout.offsets[0], 0);
  EXPECT_EQ(layout.offsets[3], 0);
  EXPECT_EQ(layout.bytes, 4096 + 64 + 64);
}

TEST(PlanArena, InceptionLikeBranchesStayApartUntilTheJoin) {
  // Four towers read the block's input (0) and are joined (5) at step 5.
  const std::vector<BufferLifetime> block = {{4096, 0, 4}, {1024, 1, 5}, {2048, 2, 5},
                                             {2048, 3, 5}, {512, 4, 5},  {5632, 5, 6}};
  const ArenaLayout layout = plan_arena(block);
  expect_valid(block, layout);
  EXPECT_EQ(layout.bytes, 1024 + 2048 + 2048 + 512 + 5632);
}

TEST(PlanArena, RandomLifetimesNeverOverlap) {
  std::mt19937 rng(3);
  for (int round = 0; round < 200; ++round) {
    std::vector<BufferLifetime> buffers;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      const int first = static_cast<int>(rng() % 30);
      buffers.push_back(
          {1 + static_cast<int64_t>(rng() % 5000), first, first + static_cast<int>(rng() % 6)});
    }
    const ArenaLayout layout = plan_arena(buffers);
    expect_valid(buffers, layout);
    EXPECT_GE(layout.bytes, layout.peak_live);
    // Never more than everything side by side.
    int64_t sum = 0;
    for (const BufferLifetime& b : buffers) sum += (b.bytes + 63) / 64 * 64;
    EXPECT_LE(layout.bytes, sum);
  }
}

TEST(PlanArena, ReachesTheLowerBoundOnTheRealMobileNet) {
  // No layout can be smaller than the most bytes alive at one step; the arena reaches it on
  // MobileNet, a chain laid out centred (and, measured, on the MobileNet 1.0 replica, centred,
  // and the Inception v3 replica, greedy by size).
  POET_REQUIRE_FIXTURE("mobilenet_v1_0.25_128/frozen_graph.pb");
  ExecOptions options;
  options.threads = 1;
  Executable exe(tf::load_graphdef(fixture("mobilenet_v1_0.25_128/frozen_graph.pb")), {"input:0"},
                 {"MobilenetV1/Predictions/Reshape:0"}, options);
  const Executable::ArenaSizes sizes = exe.arena_sizes();
  EXPECT_GT(sizes.peak_live, 0);
  EXPECT_EQ(sizes.bytes, sizes.peak_live);
}

TEST(ActivationArena, AConcatenationsInputsLieInsideItsOutput) {
  // Steps 0 and 1 write the two halves of step 3's output, in place; step 2's output is read by
  // step 4 and alive meanwhile; step 4 reads step 3's.
  const std::vector<std::vector<int64_t>> bytes = {{1024}, {1024}, {640}, {2048}, {64}};
  const std::vector<int> dies = {3, 3, 4, 4, 5};
  const std::vector<ActivationArena::Alias> aliases = {{0, 0, 3, 0}, {1, 0, 3, 1024}};
  ActivationArena arena(bytes, dies, aliases);
  const ActivationArena::Slot& join = arena.slot(3, 0);
  EXPECT_FALSE(join.inside);
  for (size_t s : {0, 1}) {
    EXPECT_TRUE(arena.slot(s, 0).inside) << s;
    EXPECT_EQ(arena.slot(s, 0).offset, join.offset + 1024 * static_cast<int64_t>(s)) << s;
    EXPECT_EQ(arena.slot(s, 0).bytes, 1024) << s;
  }
  // The join is alive from step 0: step 2's output, written meanwhile, lies apart from it.
  const ActivationArena::Slot& other = arena.slot(2, 0);
  EXPECT_TRUE(other.offset + 640 <= join.offset || join.offset + 2048 <= other.offset);
  EXPECT_EQ(arena.bytes(), 2048 + 640 + 64);
  // An alias whose output is left out of the arena is dropped: step 0 gets its own bytes.
  const std::vector<std::vector<int64_t>> unplanned = {{1024}, {1024}, {640}, {0}, {64}};
  ActivationArena without(unplanned, dies, aliases);
  EXPECT_FALSE(without.slot(0, 0).inside);
  EXPECT_GE(without.slot(0, 0).offset, 0);
}

TEST(GrowingArena, PlansOpenSizesFromTheRunsAndGrowsWithThem) {
  // A chain of three steps, step 1's size left open at load.
  const std::vector<int> dies = {1, 2, 3};
  GrowingArena arena({{256}, {-1}, {128}}, dies, {}, {}, 1 << 20);
  EXPECT_TRUE(arena.open());
  EXPECT_EQ(arena.current(), nullptr);
  arena.record({{256}, {1024}, {128}});
  const std::shared_ptr<ActivationArena> first = arena.current();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->slot(0, 0).bytes, 256);
  EXPECT_EQ(first->slot(1, 0).bytes, 1024);
  // A smaller run fits the plan.
  arena.record({{256}, {512}, {128}});
  EXPECT_EQ(arena.current(), first);
  // A larger one is planned again; a size known at load stays as planned.
  arena.record({{4096}, {2048}, {128}});
  const std::shared_ptr<ActivationArena> second = arena.current();
  ASSERT_NE(second, first);
  EXPECT_EQ(second->slot(1, 0).bytes, 2048);
  EXPECT_EQ(second->slot(0, 0).bytes, 256);
  EXPECT_EQ(first->slot(1, 0).bytes, 1024);  // unchanged for a run still holding it
}

TEST(GrowingArena, KnownSizesArePlannedAtOnceAndNoneBeyondTheLimit) {
  const std::vector<int> dies = {1, 2};
  GrowingArena known({{256}, {512}}, dies, {}, {}, 1 << 20);
  EXPECT_FALSE(known.open());
  ASSERT_NE(known.current(), nullptr);
  EXPECT_EQ(known.current()->bytes(), 256 + 512);  // alive together at step 1
  GrowingArena bounded({{-1}, {512}}, dies, {}, {}, 1024);
  bounded.record({{256}, {512}});
  EXPECT_NE(bounded.current(), nullptr);
  bounded.record({{1024}, {512}});
  EXPECT_EQ(bounded.current(), nullptr);
}

// x -> Relu -> times -1 -> times -1 -> Reshape (relu(x), flattened), fetching the Reshape (a view
// of an arena tensor) and, when asked, an inner activation.
Executable chain(PartialShape shape, std::vector<std::string> fetches) {
  TestGraph t;
  const Endpoint x = t.placeholder("x", shape);
  const Endpoint a = t.op("a", "Relu", {x});
  const Endpoint minus = t.constant("minus", floats({}, {-1.f}));
  const Endpoint b = t.op("b", "Mul", {a, minus});
  const Endpoint c = t.op("c", "Mul", {b, minus});
  const Endpoint flat = t.constant("flat", ints({1}, {-1}));
  t.op("r", "Reshape", {c, flat}, {{"Tshape", DType::kInt32}});
  ExecOptions options;
  options.threads = 1;
  options.optimize = false;  // keep every step
  return Executable(std::move(t.g), {"x:0"}, std::move(fetches), options);
}

TEST(ExecutorArena, RepeatedRunsGiveFreshResultsAndFetchesOutliveTheNextRun) {
  Executable exe = chain(PartialShape({64, 64}), {"r:0"});
  EXPECT_GT(exe.arena_sizes().bytes, 0);
  // The three activations: the first and last may share bytes, the middle may not.
  EXPECT_LE(exe.arena_sizes().bytes, 2 * 64 * 64 * 4);
  std::vector<std::vector<float>> inputs;
  std::vector<Tensor> kept;
  for (int run = 0; run < 3; ++run) {
    std::vector<float> in(64 * 64);
    for (size_t i = 0; i < in.size(); ++i)
      in[i] = (i % 2 ? 1.f : -1.f) * static_cast<float>(run + i);
    inputs.push_back(in);
    const std::vector<Tensor> feed = {floats({64, 64}, in)};
    kept.push_back(exe.run(feed)[0]);
  }
  for (int run = 0; run < 3; ++run) {
    // A fetch left in the arena would hold the last run's values.
    const std::vector<float> got = floats(kept[run]);
    ASSERT_EQ(got.size(), 64u * 64);
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], std::max(inputs[run][i], 0.f)) << "run " << run << " element " << i;
  }
}

TEST(ExecutorArena, ImagesOfASplitBatchEachGetTheirOwnBuffer) {
  // Batch 8 split over 2 threads: both threads' images run at once in per-image arenas.
  TestGraph t;
  const Endpoint x = t.placeholder("x", PartialShape({8, 256, 256}));
  const Endpoint minus = t.constant("minus", floats({}, {-1.f}));
  const Endpoint a = t.op("a", "Relu", {x});
  const Endpoint b = t.op("b", "Mul", {a, minus});
  t.op("c", "Mul", {b, minus});
  ExecOptions options;
  options.threads = 2;
  options.optimize = false;
  options.batch_split = BatchSplit::kOn;
  Executable exe(std::move(t.g), {"x:0"}, {"c:0"}, options);
  ASSERT_TRUE(exe.splits_batch(8));
  for (int run = 0; run < 20; ++run) {
    std::vector<float> in(8 * 256 * 256);
    for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>((run * 7 + i) % 13) - 6.f;
    const std::vector<Tensor> feed = {floats({8, 256, 256}, in)};
    const std::vector<float> got = floats(exe.run(feed)[0]);
    ASSERT_EQ(got.size(), in.size());
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], std::max(in[i], 0.f)) << "run " << run << " element " << i;
  }
}

TEST(ExecutorArena, NoArenaBeyondTheTensorLimit) {
  // The arena is bounded like one tensor: a graph whose activations together exceed the limit
  // runs with each allocated on its own.
  const size_t limit = max_tensor_bytes();
  set_max_tensor_bytes(64 * 64 * 4);  // one activation, not two
  Executable exe = chain(PartialShape({64, 64}), {"r:0"});
  set_max_tensor_bytes(limit);
  EXPECT_EQ(exe.arena_sizes().bytes, 0);
  const std::vector<Tensor> feed = {floats({64, 64}, std::vector<float>(64 * 64, 2.f))};
  EXPECT_EQ(floats(exe.run(feed)[0]), std::vector<float>(64 * 64, 2.f));
}

TEST(ExecutorArena, InnerFetchesAreNotInTheArena) {
  Executable exe = chain(PartialShape({8, 8}), {"a:0", "r:0"});
  std::vector<float> in(64, 2.f);
  const std::vector<Tensor> feed = {floats({8, 8}, in)};
  const Tensor first = exe.run(feed)[0];
  std::vector<float> other(64, 5.f);
  const std::vector<Tensor> feed2 = {floats({8, 8}, other)};
  exe.run(feed2);
  EXPECT_EQ(floats(first), std::vector<float>(64, 2.f));
}

// Two convolutions, a max pool and a Relu of x [batch, 6, 5, 3], concatenated (conv a: 8
// channels, the pool: 3, the Relu: 3, conv b: 5) and passed through a Relu, fetching
// `fetches`. `op`: ConcatV2 (the axis last) or Concat (the axis first, as in 2015 graphs).
Executable concatenation(const std::string& op, int64_t batch, std::vector<std::string> fetches,
                         int threads = 1) {
  TestGraph t;
  const Endpoint x = t.placeholder("x", PartialShape({batch, 6, 5, 3}));
  const std::map<std::string, AttrValue> same = {{"padding", std::string("SAME")},
                                                 {"strides", std::vector<int64_t>{1, 1, 1, 1}}};
  std::map<std::string, AttrValue> pool = same;
  pool["ksize"] = std::vector<int64_t>{1, 3, 3, 1};
  const Endpoint fa = t.constant("fa", floats({3, 3, 3, 8}, random_floats(3 * 3 * 3 * 8, 1)));
  const Endpoint fb = t.constant("fb", floats({1, 1, 3, 5}, random_floats(3 * 5, 2)));
  const Endpoint a = t.op("a", "Conv2D", {x, fa}, same);
  const Endpoint p = t.op("p", "MaxPool", {x}, pool);
  const Endpoint q = t.op("q", "Relu", {x});
  const Endpoint b = t.op("b", "Conv2D", {x, fb}, same);
  const Endpoint axis = t.constant("axis", ints({}, {3}));
  const std::vector<Endpoint> values = {a, p, q, b};
  std::vector<Endpoint> inputs = values;
  inputs.insert(op == "Concat" ? inputs.begin() : inputs.end(), axis);
  const Endpoint join = t.op("join", op, inputs, {{"N", int64_t{4}}});
  t.op("r", "Relu", {join});
  ExecOptions options;
  options.threads = threads;
  options.batch_split = threads > 1 ? BatchSplit::kOn : BatchSplit::kOff;
  return Executable(std::move(t.g), {"x:0"}, std::move(fetches), options);
}

TEST(ExecutorArena, ConvolutionsAndPoolsWriteTheirChannelsOfAConcatenationInPlace) {
  for (const std::string op : {"ConcatV2", "Concat"})
    for (int threads : {1, 2}) {
      SCOPED_TRACE(op + " on " + std::to_string(threads) + " threads");
      // Fetching a, p and b too keeps them out of the join (they are read twice): the reference.
      Executable copied = concatenation(op, 4, {"r:0", "a:0", "p:0", "b:0"});
      Executable in_place = concatenation(op, 4, {"r:0"}, threads);
      // The join's 19 channels hold a's 8, p's 3 and b's 5: only the inner Relu's output (3
      // channels) and the join's take bytes of their own, each rounded up to 64 (the last
      // Relu's, fetched, is the caller's).
      auto aligned = [](int64_t bytes) { return (bytes + 63) / 64 * 64; };
      EXPECT_EQ(in_place.arena_sizes().bytes,
                aligned(4 * 6 * 5 * 19 * 4) + aligned(4 * 6 * 5 * 3 * 4));
      // The planned batch, a smaller one (in place, pixels as far apart), a larger one (all on
      // their own) and, on two threads, each image on its own.
      for (int64_t batch : {4, 1, 6}) {
        SCOPED_TRACE(batch);
        const std::vector<Tensor> feed = {
            floats({batch, 6, 5, 3}, random_floats(batch * 6 * 5 * 3, 3, -2.f, 2.f))};
        const Tensor want = copied.run(feed)[0];
        EXPECT_EQ(floats(in_place.run(feed)[0]), floats(want));
      }
    }
}

// relu(x) of a batch of `rows` rows of 16 values, each `value` or its negation in turn.
std::vector<Tensor> signed_rows(int64_t rows, float value) {
  std::vector<float> in(static_cast<size_t>(rows * 16));
  for (size_t i = 0; i < in.size(); ++i) in[i] = (i % 2 ? value : -value) + static_cast<float>(i);
  return {floats({rows, 16}, in)};
}
std::vector<float> relu(const Tensor& t) {
  std::vector<float> out = floats(t);
  for (float& v : out) v = std::max(v, 0.f);
  return out;
}

TEST(ExecutorArena, AnOpenBatchIsPlannedFromTheFirstRunAndGrowsWithLargerOnes) {
  // Left open at load, the batch decides every activation's size: none is planned before a
  // run. The three activations of a run of n rows: the first and last may share bytes.
  Executable exe = chain(PartialShape({-1, 16}), {"r:0"});
  EXPECT_EQ(exe.arena_sizes().bytes, 0);
  const int64_t row_bytes = 16 * 4;
  for (const auto& [rows, planned] :
       std::vector<std::pair<int64_t, int64_t>>{{4, 4}, {4, 4}, {2, 4}, {8, 8}, {3, 8}, {8, 8}}) {
    SCOPED_TRACE(rows);
    const std::vector<Tensor> feed = signed_rows(rows, static_cast<float>(rows));
    EXPECT_EQ(floats(exe.run(feed)[0]), relu(feed[0]));
    EXPECT_EQ(exe.arena_sizes().bytes, 2 * planned * row_bytes);
  }
}

TEST(ExecutorArena, AnOpenBatchSplitAcrossThreadsPlansOneImagesArena) {
  TestGraph t;
  const Endpoint x = t.placeholder("x", PartialShape({-1, 16}));
  const Endpoint minus = t.constant("minus", floats({}, {-1.f}));
  t.op("c", "Mul", {t.op("b", "Mul", {t.op("a", "Relu", {x}), minus}), minus});
  ExecOptions options;
  options.threads = 2;
  options.optimize = false;
  options.batch_split = BatchSplit::kOn;
  Executable exe(std::move(t.g), {"x:0"}, {"c:0"}, options);
  ASSERT_TRUE(exe.splits_batch(6));
  EXPECT_EQ(exe.arena_sizes().image_bytes, 0);
  for (int run = 0; run < 10; ++run) {
    const std::vector<Tensor> feed = signed_rows(6, static_cast<float>(run));
    ASSERT_EQ(floats(exe.run(feed)[0]), relu(feed[0])) << "run " << run;
    EXPECT_EQ(exe.arena_sizes().image_bytes, 2 * 16 * 4);
  }
}

TEST(ExecutorArena, LargerRunShapesThanPlannedAllocateOnTheirOwn) {
  // Planned for batch 2, run with batch 6: outputs beyond their slots allocate separately.
  // (Fetched before the Reshape to [-1], which would join the images, so that the graph keeps
  // them apart and runs another batch than the declared one.)
  Executable exe = chain(PartialShape({2, 16}), {"c:0"});
  const std::vector<Tensor> large = {floats({6, 16}, std::vector<float>(6 * 16, 3.f))};
  EXPECT_EQ(floats(exe.run(large)[0]), std::vector<float>(6 * 16, 3.f));
  const std::vector<Tensor> small = {floats({2, 16}, std::vector<float>(32, -4.f))};
  EXPECT_EQ(floats(exe.run(small)[0]), std::vector<float>(32, 0.f));
}

}  // namespace
}  // namespace poet::testing
