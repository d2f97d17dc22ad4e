// Parallel branches (engine/branches.h, ExecOptions::parallel_branches): where the fork-joins
// of a run's steps are, the arena keeping a region's buffers apart, and runs with the branches
// side by side giving what runs with every layer split give.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "engine/branches.h"
#include "engine/executor.h"
#include "engine/memory_plan.h"
#include "tests/fixtures.h"
#include "tests/kernel_test_util.h"
#include "tests/test_graph.h"

namespace poet::testing {
namespace {

using Steps = std::vector<std::vector<size_t>>;  // per step, the steps it reads

std::vector<BranchRegion> regions(const Steps& inputs, std::vector<char> fetched = {}) {
  fetched.resize(inputs.size(), 0);
  return find_branch_regions(inputs, fetched);
}

// An Inception block: step 0 (the fork) feeds a 1x1 tower (1), a two-layer tower (2, 3) and a
// pool tower (4, 5), and step 6 joins them; step 7 reads the join.
const Steps kBlock = {{}, {0}, {0}, {2}, {0}, {4}, {1, 3, 5}, {6}};

TEST(FindBranchRegions, FindsTheTowersOfABlockBetweenItsForkAndItsJoin) {
  const std::vector<BranchRegion> found = regions(kBlock);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].first, 1u);
  EXPECT_EQ(found[0].join, 6u);
  EXPECT_EQ(found[0].branches, Steps({{1}, {2, 3}, {4, 5}}));
}

TEST(FindBranchRegions, KeepsAForkJoinInsideABranchWithinIt) {
  // Tower 1 forks at step 2 into steps 3 and 4, joined by step 5 (Inception v3's
  // mixed_9/tower/mixed); tower 2 is step 6; step 7 joins the block.
  const Steps nested = {{}, {0}, {1}, {2}, {2}, {3, 4}, {0}, {5, 6}};
  const std::vector<BranchRegion> found = regions(nested);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].first, 1u);
  EXPECT_EQ(found[0].join, 7u);
  EXPECT_EQ(found[0].branches, Steps({{1, 2, 3, 4, 5}, {6}}));
}

TEST(FindBranchRegions, EndsARegionAtAStepReadAfterTheJoinOrFetched) {
  // kBlock's 1x1 tower also read by step 7: the walk back from the join stops there.
  Steps read_later = kBlock;
  read_later[7].push_back(1);
  const std::vector<BranchRegion> found = regions(read_later);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].first, 2u);
  EXPECT_EQ(found[0].branches, Steps({{2, 3}, {4, 5}}));
  // The pool's output fetched: only step 5 is left after it, one branch.
  std::vector<char> fetched(kBlock.size(), 0);
  fetched[4] = 1;
  EXPECT_TRUE(regions(kBlock, fetched).empty());
}

TEST(FindBranchRegions, FindsNoneInAChainOrAResidualBlock) {
  EXPECT_TRUE(regions({{}, {0}, {1}, {2}}).empty());
  // Step 2 adds the fork's output to a layer's: one branch.
  EXPECT_TRUE(regions({{}, {0}, {0, 1}, {2}}).empty());
}

TEST(FindBranchRegions, FindsConsecutiveBlocksEachOnItsOwn) {
  // Two blocks in a row, the first one's join the second one's fork.
  const Steps two = {{}, {0}, {0}, {1, 2}, {3}, {3}, {4, 5}};
  const std::vector<BranchRegion> found = regions(two);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].first, 1u);
  EXPECT_EQ(found[0].join, 3u);
  EXPECT_EQ(found[1].first, 4u);
  EXPECT_EQ(found[1].join, 6u);
}

TEST(ActivationArenaTogether, KeepsBuffersOfStepsThatMayRunAtOnceApart) {
  // Step 1's output is last read by step 2 and step 3's by step 4: in order they may share
  // bytes, but not when steps 1 to 3 may run at once.
  const std::vector<std::vector<int64_t>> bytes = {{0}, {1024}, {0}, {1024}, {0}};
  const std::vector<int> dies = {-1, 2, -1, 4, -1};
  const ActivationArena in_order(bytes, dies);
  EXPECT_EQ(in_order.slot(1, 0).offset, in_order.slot(3, 0).offset);
  const std::vector<ActivationArena::Together> together = {{1, 3}};
  const ActivationArena at_once(bytes, dies, {}, together);
  EXPECT_NE(at_once.slot(1, 0).offset, at_once.slot(3, 0).offset);
  EXPECT_EQ(at_once.bytes(), 2048);
}

// A 32x31 image through a 3x3 layer, a block of three towers (1x1; 1x1 then 3x3; average pool
// then 1x1) joined along the channels, and a 1x1 layer. The towers are large enough to overlap
// in time, and the layer before them keeps the pool's worker awake for them.
struct BlockGraph : TestGraph {
  uint32_t seed = 5;

  Endpoint weights(const std::string& name, const Shape& shape) {
    return constant(name, Tensor::from_floats(shape, random_floats(num_elements(shape), seed++)));
  }
  Endpoint conv(const std::string& name, Endpoint in, int64_t k, int64_t c_in, int64_t c_out) {
    return op(name, "Conv2D", {in, weights(name + "/w", {k, k, c_in, c_out})},
              {{"padding", std::string("SAME")}, {"strides", std::vector<int64_t>{1, 1, 1, 1}}});
  }

  BlockGraph() {
    // Shapes known at load: the activations live in the arena.
    const Endpoint x = conv("stem", placeholder("x", PartialShape({1, 32, 31, 8})), 3, 8, 32);
    const Endpoint a = op("a", "Relu", {conv("a/conv", x, 1, 32, 48)});
    const Endpoint b = op("b", "Relu", {conv("b/conv_1", conv("b/conv", x, 1, 32, 32), 3, 32, 64)});
    const Endpoint pool = op("pool", "AvgPool", {x},
                             {{"ksize", std::vector<int64_t>{1, 3, 3, 1}},
                              {"strides", std::vector<int64_t>{1, 1, 1, 1}},
                              {"padding", std::string("SAME")}});
    const Endpoint c = conv("c/conv", pool, 1, 32, 32);
    const Endpoint axis = constant("axis", Tensor::from_ints({}, std::vector<int32_t>{3}));
    const Endpoint join = op("join", "ConcatV2", {a, b, c, axis}, {{"N", int64_t{3}}});
    conv("out", join, 1, 144, 8);
  }
};

void expect_same(const Tensor& got, const Tensor& want) {
  ASSERT_EQ(got.shape(), want.shape());
  const std::span<const float> a = got.data<float>(), b = want.data<float>();
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "element " << i;
}

Tensor random_image(uint32_t seed) {
  return Tensor::from_floats({1, 32, 31, 8}, random_floats(32 * 31 * 8, seed));
}

Executable load_block(const BlockGraph& block, ParallelBranches branches, int threads,
                      LayerSplit split = LayerSplit::kOn) {
  ExecOptions o;
  o.threads = threads;
  o.layer_split = split;
  o.parallel_branches = branches;
  return Executable(block.g, {"x:0"}, {"out:0"}, o);
}

// Side by side, each layer of a branch runs on one thread; a layer's sums do not depend on
// how its tiles are shared, so the results are the same bits (tolerance 0).
TEST(ParallelBranches, GiveWhatSplitLayersGiveAndReportEveryStep) {
  const BlockGraph block;
  Executable off = load_block(block, ParallelBranches::kOff, 2);
  Executable on = load_block(block, ParallelBranches::kOn, 2);
  const std::vector<Tensor> image = {random_image(1)};
  EXPECT_EQ(off.branch_use(image).regions, 0);
  EXPECT_EQ(on.branch_use(image).regions, 1);
  EXPECT_EQ(on.branch_use(image).side_by_side, 1);
  std::atomic<int> observed = 0;
  on.set_step_observer([&](int, const StepTime&) { ++observed; });
  for (unsigned seed = 1; seed <= 20; ++seed) {
    const std::vector<Tensor> feeds = {random_image(seed)};
    expect_same(on.run(feeds)[0], off.run(feeds)[0]);
  }
  EXPECT_EQ(observed, 20 * static_cast<int>(on.steps().size()));
  // One thread, or the oneDNN backend (which threads its own layers): no region.
  EXPECT_EQ(load_block(block, ParallelBranches::kOn, 1).branch_use(image).regions, 0);
  ExecOptions onednn;
  onednn.threads = 2;
  onednn.backend = Backend::kOneDnn;
  onednn.parallel_branches = ParallelBranches::kOn;
  EXPECT_EQ(Executable(block.g, {"x:0"}, {"out:0"}, onednn).branch_use(image).regions, 0);
}

TEST(ParallelBranches, AutoTimesAThirdWayAndKeepsTheResults) {
  const BlockGraph block;
  Executable timed = load_block(block, ParallelBranches::kAuto, 2, LayerSplit::kAuto);
  Executable off = load_block(block, ParallelBranches::kOff, 2);
  // Three ways, each twice in a row.
  ASSERT_EQ(timed.trial_runs(), 6 * Executable::kLayerSplitTrials);
  const std::vector<Tensor> image = {random_image(7)};
  const Tensor want = off.run(image)[0];
  for (int i = 0; i < timed.trial_runs(); ++i) {
    EXPECT_EQ(timed.layer_threads(image), 0) << "chose after " << i << " runs";
    expect_same(timed.run(image)[0], want);
  }
  ASSERT_NE(timed.layer_threads(image), 0);
  const int side_by_side = timed.branch_use(image).side_by_side;
  EXPECT_TRUE(side_by_side == 0 || side_by_side == 1) << side_by_side;
  for (int i = 0; i < 5; ++i) expect_same(timed.run(image)[0], want);
  // Without regions to time, the trials take the layer split's two ways alone.
  EXPECT_EQ(load_block(block, ParallelBranches::kOff, 2, LayerSplit::kAuto).trial_runs(),
            4 * Executable::kLayerSplitTrials);
}

// With --branches on, the layer split's trials time its split way as its runs take it: with
// the block's branches side by side, each step of them on one thread (a step on one thread
// reports its thread time equal to its wall time; a layer split over the pool, more).
TEST(ParallelBranches, OnTimesTheSplitWayWithItsBranchesSideBySide) {
  const BlockGraph block;
  Executable on = load_block(block, ParallelBranches::kOn, 2, LayerSplit::kAuto);
  ASSERT_EQ(on.trial_runs(), 4 * Executable::kLayerSplitTrials);
  const std::vector<StepInfo> steps = on.steps();
  auto step_named = [&](const std::string& name) {
    for (size_t s = 0; s < steps.size(); ++s)
      if (steps[s].name == name) return static_cast<int>(s);
    ADD_FAILURE() << "no step " << name;
    return -1;
  };
  const int stem = step_named("stem"), join = step_named("join");
  ASSERT_LT(stem + 2, join);  // the branches' steps lie between
  bool split_way = true;      // the trials take their ways in turn, each twice: split first
  int branch_steps = 0, on_one_thread = 0;
  on.set_step_observer([&](int s, const StepTime& t) {
    if (!split_way || s <= stem || s >= join) return;
    ++branch_steps;
    on_one_thread += t.thread_seconds == t.seconds;
  });
  const std::vector<Tensor> image = {random_image(3)};
  for (int i = 0; i < on.trial_runs(); ++i) {
    split_way = i / 2 % 2 == 0;
    on.run(image);
  }
  EXPECT_GT(branch_steps, 0);
  EXPECT_EQ(on_one_thread, branch_steps);
}

}  // namespace
}  // namespace poet::testing
