// The executor's batch split (ExecOptions::batch_split): graphs whose ops keep images apart run
// a batch image by image on the pool's threads and give what the whole-batch run gives; any
// op that may mix images (a Mean over the batch, a Reshape that merges it) makes the run fall
// back to the whole batch, and BatchSplit::kOn then refuses to load, naming the node. A batch
// run whole splits its layers over the threads or not (ExecOptions::layer_split), with the
// same results.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <random>

#include "engine/executor.h"
#include "engine/npy.h"
#include "importers/tensorflow/graphdef.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"
#include "tests/kernel_test_util.h"
#include "tests/test_graph.h"

namespace poet::testing {
namespace {

// Builds graphs node by node around one float feed "x" of shape [?, ...].
struct Builder : TestGraph {
  std::mt19937 rng{11};

  // The graph's input "x", with the batch dimension left open.
  Endpoint input(Shape shape) {
    shape[0] = -1;
    return placeholder("x", PartialShape(shape));
  }
  Endpoint weights(const std::string& name, Shape shape) {
    Tensor t(DType::kFloat32, std::move(shape));
    std::uniform_real_distribution<float> u(-1, 1);
    for (float& v : t.data<float>()) v = u(rng);
    return constant(name, t);
  }
  Endpoint ints(const std::string& name, Shape shape, std::vector<int32_t> values) {
    return constant(name, Tensor::from_ints(std::move(shape), values));
  }
};

Tensor random_tensor(Shape shape, unsigned seed = 3) {
  Tensor t(DType::kFloat32, std::move(shape));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  for (float& v : t.data<float>()) v = u(rng);
  return t;
}

struct Outcome {
  std::vector<Tensor> out;
  int observed = 0;  // step observations in one run: steps x images when split
  int steps = 0;
  int tail = 0;  // steps run over groups of images (Executable::tail_steps)
  bool splits = false;
  std::string blocker;
};

Outcome run(const Graph& g, const std::vector<std::string>& fetches,
            const std::vector<Tensor>& feeds, BatchSplit mode, int threads = 2,
            std::map<std::string, PartialShape> feed_shapes = {},
            std::vector<std::string> feed_names = {"x:0"}) {
  ExecOptions o;
  o.threads = threads;
  o.batch_split = mode;
  o.check_numerics = true;
  o.feed_shapes = std::move(feed_shapes);
  Executable exe(g, feed_names, fetches, o);
  std::atomic<int> observed = 0;
  exe.set_step_observer([&](int, const StepTime&) { ++observed; });
  Outcome r;
  r.out = exe.run(feeds);
  r.observed = observed;
  r.steps = static_cast<int>(exe.steps().size());
  r.tail = static_cast<int>(exe.tail_steps());
  r.splits = exe.splits_batch(feeds[0].dim(0));
  r.blocker = exe.batch_split_blocker();
  return r;
}

void expect_near(const Tensor& got, const Tensor& want, float tolerance = 1e-5f) {
  ASSERT_EQ(got.shape(), want.shape());
  auto a = got.data<float>(), b = want.data<float>();
  for (size_t i = 0; i < a.size(); ++i)
    ASSERT_NEAR(a[i], b[i], tolerance * (1 + std::abs(b[i]))) << "element " << i;
}

TEST(BatchSplit, SmallNetworkSplitsAndMatchesTheWholeBatch) {
  // conv -> relu -> max pool -> spatial mean -> matmul -> add -> softmax, fetching an
  // activation too.
  Builder b;
  Endpoint x = b.input({-1, 7, 6, 3});
  Endpoint conv =
      b.op("conv", "Conv2D", {x, b.weights("w", {3, 3, 3, 4})},
           {{"padding", std::string("SAME")}, {"strides", std::vector<int64_t>{1, 1, 1, 1}}});
  Endpoint relu = b.op("relu", "Relu", {conv});
  Endpoint pool = b.op("pool", "MaxPool", {relu},
                       {{"padding", std::string("VALID")},
                        {"ksize", std::vector<int64_t>{1, 2, 2, 1}},
                        {"strides", std::vector<int64_t>{1, 2, 2, 1}}});
  Endpoint mean = b.op("mean", "Mean", {pool, b.ints("axes", {2}, {1, 2})});
  Endpoint logits = b.op("logits", "MatMul", {mean, b.weights("fc", {4, 3})});
  Endpoint biased = b.op("biased", "Add", {logits, b.weights("bias", {3})});
  b.op("probs", "Softmax", {biased});
  const std::vector<std::string> fetches = {"probs:0", "relu:0"};
  const Tensor x5 = random_tensor({5, 7, 6, 3});

  Outcome split = run(b.g, fetches, {x5}, BatchSplit::kOn);
  Outcome whole = run(b.g, fetches, {x5}, BatchSplit::kOff);
  EXPECT_TRUE(split.splits) << split.blocker;
  EXPECT_EQ(split.observed, 5 * split.steps);
  EXPECT_FALSE(whole.splits);
  EXPECT_EQ(whole.observed, whole.steps);
  EXPECT_EQ(whole.blocker, "the batch split is off");
  ASSERT_EQ(split.out.size(), 2u);
  expect_near(split.out[0], whole.out[0]);
  expect_near(split.out[1], whole.out[1]);
  EXPECT_EQ(split.out[0].shape(), (Shape{5, 3}));

  // kAuto splits a batch with an image per thread, not fewer; one thread splits any batch of
  // two or more, running the images one after the other.
  EXPECT_TRUE(run(b.g, fetches, {x5}, BatchSplit::kAuto).splits);
  Outcome three = run(b.g, fetches, {random_tensor({2, 7, 6, 3})}, BatchSplit::kAuto, 3);
  EXPECT_FALSE(three.splits);
  EXPECT_EQ(three.observed, three.steps);
  EXPECT_TRUE(run(b.g, fetches, {random_tensor({2, 7, 6, 3})}, BatchSplit::kOn, 3).splits);
  Outcome one = run(b.g, fetches, {x5}, BatchSplit::kAuto, 1);
  EXPECT_TRUE(one.splits);
  EXPECT_EQ(one.observed, 5 * one.steps);
  expect_near(one.out[0], whole.out[0]);
  expect_near(one.out[1], whole.out[1]);
  EXPECT_FALSE(run(b.g, fetches, {random_tensor({1, 7, 6, 3})}, BatchSplit::kAuto, 1).splits);
}

// x [?, 16, 15, 8] -> 3x3 Conv2D to 40 channels -> "relu": 0.7M multiply-adds per image,
// enough for the kernels to split the layer.
void add_conv_relu(Builder& b) {
  Endpoint x = b.input({-1, 16, 15, 8});
  Endpoint conv =
      b.op("conv", "Conv2D", {x, b.weights("w", {3, 3, 8, 40})},
           {{"padding", std::string("SAME")}, {"strides", std::vector<int64_t>{1, 1, 1, 1}}});
  b.op("relu", "Relu", {conv});
}

// The split changes which thread computes a tile, not how: both ways give the same bits
// (tolerance 0), so kAuto's choice never changes a result.
TEST(LayerSplit, BothWaysAgreeAndAutoChoosesAfterItsTrials) {
  Builder b;
  add_conv_relu(b);
  auto load = [&](LayerSplit mode, int threads, Backend backend = Backend::kNative) {
    ExecOptions o;
    o.threads = threads;
    o.layer_split = mode;
    o.backend = backend;
    o.batch_split = BatchSplit::kOff;  // a batch of 3 runs whole too
    return Executable(b.g, {"x:0"}, {"relu:0"}, o);
  };
  const std::vector<Tensor> one_image = {random_tensor({1, 16, 15, 8})};
  const std::vector<Tensor> three = {random_tensor({3, 16, 15, 8})};
  Executable on = load(LayerSplit::kOn, 2), off = load(LayerSplit::kOff, 2);
  EXPECT_EQ(on.layer_threads(one_image), 2);
  EXPECT_EQ(off.layer_threads(one_image), 1);
  EXPECT_EQ(load(LayerSplit::kAuto, 1).layer_threads(one_image), 1);
  // oneDNN threads its own layers: kAuto leaves them split.
  EXPECT_EQ(load(LayerSplit::kAuto, 2, Backend::kOneDnn).layer_threads(one_image), 2);
  const Tensor want = on.run(one_image)[0];
  expect_near(off.run(one_image)[0], want, 0);

  Executable timed = load(LayerSplit::kAuto, 2);
  // Two ways, each twice in a row: no fork-join to time.
  ASSERT_EQ(timed.trial_runs(), 4 * Executable::kLayerSplitTrials);
  for (int i = 0; i < timed.trial_runs(); ++i) {
    EXPECT_EQ(timed.layer_threads(one_image), 0) << "chose after " << i << " runs";
    expect_near(timed.run(one_image)[0], want, 0);
  }
  const int chosen = timed.layer_threads(one_image);
  EXPECT_TRUE(chosen == 1 || chosen == 2) << chosen;
  // The choice holds between rounds and through the next round's trials (runs 1000-1011,
  // counted from 0), up to that round's last run.
  const int64_t second_round = Executable::kLayerSplitPeriod;
  const int64_t its_last_run = second_round + timed.trial_runs() - 1;
  for (int64_t run = timed.trial_runs(); run < its_last_run; ++run) {
    const Tensor got = timed.run(one_image)[0];
    if (run >= second_round) expect_near(got, want, 0);
    ASSERT_EQ(timed.layer_threads(one_image), chosen) << "after run " << run;
  }
  // Each batch size is timed on its own.
  EXPECT_EQ(timed.layer_threads(three), 0);
  expect_near(timed.run(three)[0], on.run(three)[0], 0);
}

// Split, a 1x1 layer cuts its pixels into one band per thread, each tiled on its own: 50x50
// pixels end each band in a tile of 2 or 3 pixels (6-, 8- and 12-pixel tiles) where the whole
// image ends in one of 4. Every tile must sum in the same order, or kAuto's choice, made by
// timing, would change the results from run to run.
TEST(LayerSplit, APointwiseLayerCutIntoBandsGivesTheSameBitsOnEveryIsa) {
  Builder b;
  Endpoint x = b.input({-1, 50, 50, 8});
  b.op("conv", "Conv2D", {x, b.weights("w", {1, 1, 8, 16})},
       {{"padding", std::string("VALID")}, {"strides", std::vector<int64_t>{1, 1, 1, 1}}});
  const std::vector<Tensor> image = {random_tensor({1, 50, 50, 8})};
  for (kernels::x86::Isa isa : simd_isas()) {
    SCOPED_TRACE(kernels::x86::isa_name(isa));
    kernels::x86::force_isa(isa);
    auto run = [&](LayerSplit mode) {
      ExecOptions o;
      o.threads = 2;
      o.layer_split = mode;
      return Executable(b.g, {"x:0"}, {"conv:0"}, o).run(image)[0];
    };
    expect_near(run(LayerSplit::kOn), run(LayerSplit::kOff), 0);
  }
  kernels::x86::force_isa(std::nullopt);
}

TEST(LayerSplit, StepTimesCountTheThreadsTheLayerKeptBusy) {
  Builder b;
  add_conv_relu(b);
  const std::vector<Tensor> image = {random_tensor({1, 16, 15, 8})};
  // Each step's wall and thread time summed over 50 runs (more, up to 3 s, until the
  // first step's thread time exceeds its wall time: on a busy machine the worker may take no
  // chunk of the first runs), checking each run's bounds: the thread time is at most threads
  // x the wall time (the workers' chunks fall within the step), and equal to it when nothing
  // ran on a worker.
  auto times = [&](int threads, LayerSplit split, bool until_a_worker_ran = false) {
    ExecOptions o;
    o.threads = threads;
    o.layer_split = split;
    Executable exe(b.g, {"x:0"}, {"relu:0"}, o);
    std::vector<StepTime> sum(exe.steps().size());
    exe.set_step_observer([&](int step, const StepTime& t) {
      EXPECT_GE(t.thread_seconds, 0);
      EXPECT_LE(t.thread_seconds, threads * t.seconds + 1e-6);
      if (threads == 1 || split == LayerSplit::kOff) {
        EXPECT_EQ(t.thread_seconds, t.seconds);
      }
      sum[step] += t;
    });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    for (int i = 0; i < 50; ++i) exe.run(image);
    while (until_a_worker_ran && sum[0].thread_seconds <= sum[0].seconds &&
           std::chrono::steady_clock::now() < deadline)
      exe.run(image);
    return sum;
  };
  times(1, LayerSplit::kOn);
  times(2, LayerSplit::kOff);
  // Split over two threads, the convolution's time counts the worker's chunks too.
  const StepTime conv_step = times(2, LayerSplit::kOn, true)[0];
  EXPECT_GT(conv_step.thread_seconds, conv_step.seconds);
}

TEST(LayerSplit, AutoKeepsOneThreadOnlyForShortRunsThatItWins) {
  EXPECT_EQ(Executable::layer_split_threads(2e-4, 1e-4, 2), 1);
  EXPECT_EQ(Executable::layer_split_threads(1e-4, 2e-4, 2), 2);
  // Over a millisecond a trailing split met a stall of the other core: it stays.
  EXPECT_EQ(Executable::layer_split_threads(0.030, 0.025, 2), 2);
  EXPECT_EQ(Executable::layer_split_threads(0.030, 0.025, 4), 4);
  EXPECT_EQ(Executable::layer_split_threads(2 * Executable::kLayerSplitShortRun,
                                            Executable::kLayerSplitShortRun, 2),
            2);
}

// One op after x [4,3] (or the shape given): whether the graph splits, and that the default
// run agrees with the whole-batch run either way.
struct Case {
  std::string what;
  std::function<void(Builder&, Endpoint)> build;  // makes node "y"
  bool splits;
  Shape x_shape = {4, 3};
};

TEST(BatchSplit, EachOpSplitsOnlyWhenItKeepsImagesApart) {
  using Ints = std::vector<int64_t>;
  const std::vector<Case> cases = {
      {"mean over features",
       [](Builder& b, Endpoint x) {
         b.op("y", "Mean", {x, b.ints("a", {1}, {1})});
       },
       true},
      {"mean over the batch",
       [](Builder& b, Endpoint x) {
         b.op("y", "Mean", {x, b.ints("a", {1}, {0})});
       },
       false},
      {"mean over axis -2",
       [](Builder& b, Endpoint x) {
         b.op("y", "Mean", {x, b.ints("a", {}, {-2})});
       },
       false},
      {"squeeze dim 1",
       [](Builder& b, Endpoint x) {
         b.op("y", "Squeeze", {x}, {{"squeeze_dims", Ints{1}}});
       },
       true,
       {4, 1, 3}},
      {"squeeze every 1",
       [](Builder& b, Endpoint x) {
         b.op("y", "Squeeze", {x}, {{"squeeze_dims", Ints{}}});
       },
       false,
       {4, 1, 3}},
      {"add [1,3]",
       [](Builder& b, Endpoint x) {
         b.op("y", "Add", {x, b.weights("c", {1, 3})});
       },
       true},
      {"add [3]",
       [](Builder& b, Endpoint x) {
         b.op("y", "Mul", {b.weights("c", {3}), x});
       },
       true},
      {"add [4,3]",
       [](Builder& b, Endpoint x) {
         b.op("y", "Add", {x, b.weights("c", {4, 3})});
       },
       false},
      {"add [2,4,3]",
       [](Builder& b, Endpoint x) {
         b.op("y", "Sub", {x, b.weights("c", {2, 4, 3})});
       },
       false},
      {"softmax of rows", [](Builder& b, Endpoint x) { b.op("y", "Softmax", {x}); }, true},
      {"softmax over the batch",
       [](Builder& b, Endpoint x) { b.op("y", "Softmax", {x}); },
       false,
       {4}},
      {"concat along 1",
       [](Builder& b, Endpoint x) {
         b.op("y", "ConcatV2", {x, x, b.ints("a", {}, {1})}, {{"N", int64_t{2}}});
       },
       true},
      {"concat along 0",
       [](Builder& b, Endpoint x) {
         b.op("y", "ConcatV2", {x, x, b.ints("a", {}, {0})}, {{"N", int64_t{2}}});
       },
       false},
      {"pad features",
       [](Builder& b, Endpoint x) {
         b.op("y", "Pad", {x, b.ints("p", {2, 2}, {0, 0, 1, 2})});
       },
       true},
      {"pad the batch",
       [](Builder& b, Endpoint x) {
         b.op("y", "Pad", {x, b.ints("p", {2, 2}, {1, 0, 0, 0})});
       },
       false},
      {"expand dims 1",
       [](Builder& b, Endpoint x) {
         b.op("y", "ExpandDims", {x, b.ints("d", {}, {1})});
       },
       true},
      {"expand dims 0",
       [](Builder& b, Endpoint x) {
         b.op("y", "ExpandDims", {x, b.ints("d", {}, {0})});
       },
       false},
      {"matmul",
       [](Builder& b, Endpoint x) {
         b.op("y", "MatMul", {x, b.weights("w", {3, 2})});
       },
       true},
      {"matmul transpose_a",
       [](Builder& b, Endpoint x) {
         b.op("y", "MatMul", {x, b.weights("w", {4, 2})}, {{"transpose_a", true}});
       },
       false},
      {"reshape to [-1,3]",
       [](Builder& b, Endpoint x) {
         b.op("y", "Reshape", {x, b.ints("s", {2}, {-1, 3})});
       },
       true},
      {"reshape to [-1]",
       [](Builder& b, Endpoint x) {
         b.op("y", "Reshape", {x, b.ints("s", {1}, {-1})});
       },
       false},
      {"reshape to [2,6]",
       [](Builder& b, Endpoint x) {
         b.op("y", "Reshape", {x, b.ints("s", {2}, {2, 6})});
       },
       false},
      {"reshape to [3,-1]",
       [](Builder& b, Endpoint x) {
         b.op("y", "Reshape", {x, b.ints("s", {2}, {3, -1})});
       },
       false,
       {3, 4}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Builder b;
    c.build(b, b.input(c.x_shape));
    const Tensor x = random_tensor(c.x_shape);
    Outcome automatic = run(b.g, {"y:0"}, {x}, BatchSplit::kAuto);
    Outcome whole = run(b.g, {"y:0"}, {x}, BatchSplit::kOff);
    EXPECT_EQ(automatic.splits, c.splits) << automatic.blocker;
    EXPECT_EQ(automatic.observed, automatic.steps * (c.splits ? c.x_shape[0] : 1));
    expect_near(automatic.out[0], whole.out[0]);
    if (!c.splits) {
      EXPECT_NE(automatic.blocker.find("'y'"), std::string::npos) << automatic.blocker;
      const std::string e = error_of([&] { run(b.g, {"y:0"}, {x}, BatchSplit::kOn); });
      EXPECT_NE(e.find("cannot split batches across threads"), std::string::npos) << e;
      EXPECT_NE(e.find("'y'"), std::string::npos) << e;
    }
  }
}

TEST(BatchSplit, MeanOverTheBatchFallsBackAndIsRight) {
  Builder b;
  b.op("y", "Mean", {b.input({-1, 2}), b.ints("a", {1}, {0})});
  const Tensor x = Tensor::from_floats({4, 2}, std::vector<float>{1, 10, 2, 20, 3, 30, 6, 60});
  Outcome r = run(b.g, {"y:0"}, {x}, BatchSplit::kAuto);
  EXPECT_FALSE(r.splits);
  EXPECT_EQ(r.blocker, "node 'y' (Mean) may mix the images of a batch");
  EXPECT_EQ(r.out[0].shape(), (Shape{2}));
  EXPECT_FLOAT_EQ(r.out[0].data<float>()[0], 3.f);
  EXPECT_FLOAT_EQ(r.out[0].data<float>()[1], 30.f);
}

TEST(BatchSplit, AnotherBatchThanDeclaredIsRefusedWhereTheGraphMixesImages) {
  // TensorFlow refuses a feed of [2,4] for a placeholder of [1,4]. poet runs a graph exported
  // for one image at any batch only where that gives each image its own result: here the
  // Mean would average the two images.
  for (BatchSplit mode : {BatchSplit::kAuto, BatchSplit::kOff}) {
    Builder b;
    b.op("y", "Mean", {b.placeholder("x", PartialShape(Shape{1, 4})), b.ints("a", {1}, {0})},
         {{"keep_dims", true}});
    const Tensor two = random_tensor({2, 4}), one = random_tensor({1, 4});
    expect_error([&] { run(b.g, {"y:0"}, {two}, mode); },
                 "feed 'x:0' has shape [2,4], the graph expects [1,4]: its dimension 0 is a batch "
                 "only where the graph keeps images apart, and node 'y' (Mean) may mix the images "
                 "of a batch");
    EXPECT_EQ(run(b.g, {"y:0"}, {one}, mode).out[0].shape(), (Shape{1, 4}));
  }
  // A graph that keeps them apart runs any batch (a Relu instead of the Mean).
  Builder b;
  b.op("y", "Relu", {b.placeholder("x", PartialShape(Shape{1, 4}))});
  EXPECT_EQ(run(b.g, {"y:0"}, {random_tensor({3, 4})}, BatchSplit::kOff).out[0].shape(),
            (Shape{3, 4}));
}

// x [?, 2, 3] -> Relu -> Reshape to [batch, 6], the graph loaded for that batch, which the
// target spells.
Graph reshape_spelling_the_batch(int32_t batch) {
  Builder b;
  Endpoint relu = b.op("relu", "Relu", {b.input({-1, 2, 3})});
  b.op("y", "Reshape", {relu, b.ints("s", {2}, {batch, 6})});
  return std::move(b.g);
}

std::map<std::string, PartialShape> loaded_for(int64_t batch) {
  return {{"x:0", PartialShape(Shape{batch, 2, 3})}};
}

TEST(BatchSplit, ReshapeSpellingTheLoadTimeBatchSplits) {
  // With the batch given at load, the target [4,6] names it; each one-image slice needs [1,6].
  const Graph g = reshape_spelling_the_batch(4);
  const Tensor x = random_tensor({4, 2, 3});
  Outcome split = run(g, {"y:0"}, {x}, BatchSplit::kOn, 2, loaded_for(4));
  Outcome whole = run(g, {"y:0"}, {x}, BatchSplit::kOff, 2, loaded_for(4));
  EXPECT_TRUE(split.splits) << split.blocker;
  EXPECT_EQ(split.observed, 4 * split.steps);
  EXPECT_EQ(split.out[0].shape(), (Shape{4, 6}));
  expect_near(split.out[0], whole.out[0]);
}

// Loaded for one image, [1,6] spells the batch: a batch of 2 on 3 threads, too few images for
// every thread, still runs image by image, since the whole batch would not fit the target.
TEST(BatchSplit, ReshapeSpellingTheLoadTimeBatchSplitsABatchSmallerThanTheThreads) {
  const Tensor x = random_tensor({2, 2, 3});
  Outcome r = run(reshape_spelling_the_batch(1), {"y:0"}, {x}, BatchSplit::kAuto, 3, loaded_for(1));
  EXPECT_TRUE(r.splits) << r.blocker;
  ASSERT_EQ(r.out[0].shape(), (Shape{2, 6}));
  for (int64_t i = 0; i < 12; ++i)
    EXPECT_EQ(r.out[0].data<float>()[i], std::max(x.data<float>()[i], 0.f)) << i;
}

TEST(BatchSplit, FeedsOfDifferentBatchesRunWhole) {
  // Both feeds are per image for the graph, but b has one row: Add broadcasts it, which only
  // the whole-batch run does right.
  Builder g;
  Node a, bn;
  a.name = "a";
  a.op = bn.op = "Placeholder";
  bn.name = "b";
  a.attrs = bn.attrs = {{"dtype", DType::kFloat32}, {"shape", PartialShape(Shape{-1, 2})}};
  Endpoint ea{g.g.add(std::move(a)), 0}, eb{g.g.add(std::move(bn)), 0};
  g.op("y", "Add", {ea, eb});
  const Tensor ta = Tensor::from_floats({3, 2}, std::vector<float>{1, 2, 3, 4, 5, 6});
  const Tensor tb = Tensor::from_floats({1, 2}, std::vector<float>{10, 20});
  Outcome r = run(g.g, {"y:0"}, {ta, tb}, BatchSplit::kOn, 2, {}, {"a:0", "b:0"});
  EXPECT_TRUE(r.blocker.empty()) << r.blocker;
  EXPECT_EQ(r.observed, r.steps);
  EXPECT_EQ(r.out[0].shape(), (Shape{3, 2}));
  EXPECT_FLOAT_EQ(r.out[0].data<float>()[5], 26.f);
  // Equal batches split.
  const Tensor tb3 = Tensor::from_floats({3, 2}, std::vector<float>{10, 20, 30, 40, 50, 60});
  Outcome equal = run(g.g, {"y:0"}, {ta, tb3}, BatchSplit::kOn, 2, {}, {"a:0", "b:0"});
  EXPECT_EQ(equal.observed, 3 * equal.steps);
  EXPECT_FLOAT_EQ(equal.out[0].data<float>()[3], 44.f);
}

TEST(BatchSplit, AnImagesErrorReachesTheCaller) {
  // CheckNumerics fails on image 2 only; the run throws its message, and the executable still
  // runs good batches afterwards (no thread left stuck).
  Builder b;
  b.op("y", "CheckNumerics", {b.input({-1, 3})}, {{"message", std::string("image check")}});
  ExecOptions o;
  o.threads = 2;
  o.batch_split = BatchSplit::kOn;
  o.check_numerics = true;
  Executable exe(b.g, {"x:0"}, {"y:0"}, o);
  Tensor bad = random_tensor({5, 3});
  bad.data<float>()[2 * 3 + 1] = std::numeric_limits<float>::quiet_NaN();
  expect_error([&] { exe.run(std::span(&bad, 1)); }, "image check : Tensor had NaN values");
  Tensor good = random_tensor({5, 3});
  EXPECT_EQ(exe.run(std::span(&good, 1))[0].shape(), (Shape{5, 3}));
}

// The error running `exe` on `x` gives under a tensor limit of `limit` bytes (restored after).
std::string error_under_limit(Executable& exe, const Tensor& x, size_t limit) {
  const size_t saved = max_tensor_bytes();
  set_max_tensor_bytes(limit);
  const std::string e = error_of([&] { exe.run(std::span(&x, 1)); });
  set_max_tensor_bytes(saved);
  return e;
}

TEST(BatchSplit, AJoinOverTheTensorLimitIsRefusedBeforeAnyImageRuns) {
  // Each image's 4 KB of y is kept until the join; 8 of them would pass the limit. (A bench
  // run of 65 images of 64 MB held 4.4 GB before the join refused them.)
  Builder b;
  b.op("y", "MatMul", {b.input({-1, 4}), b.weights("w", {4, 1000})});
  ExecOptions o;
  o.threads = 2;
  o.batch_split = BatchSplit::kOn;
  Executable exe(b.g, {"x:0"}, {"y:0"}, o);
  int observed = 0;
  exe.set_step_observer([&](int, const StepTime&) { ++observed; });
  EXPECT_EQ(error_under_limit(exe, random_tensor({8, 4}), 16000),
            "fetch 'y:0': a batch of 8 makes it [8,1000] of float32, more than the 16000-byte "
            "limit (POET_MAX_TENSOR_BYTES)");
  EXPECT_EQ(observed, 0);
}

// An output whose size only the run's feed decides, over the limit: the error names the node
// (the allocation's named the shape alone).
TEST(BatchSplit, AnOutputOverTheTensorLimitAtRunTimeNamesItsNode) {
  Builder b;
  b.op("y", "MatMul", {b.input({-1, 4}), b.weights("w", {4, 1000})});
  ExecOptions o;
  o.batch_split = BatchSplit::kOff;
  Executable exe(b.g, {"x:0"}, {"y:0"}, o);
  EXPECT_EQ(error_under_limit(exe, random_tensor({8, 4}), 16000),
            "node 'y' (MatMul): output 0 would be [8,1000] of float32, more than the 16000-byte "
            "limit (POET_MAX_TENSOR_BYTES)");
}

TEST(BatchSplit, RowsOffTheBuffersAlignmentAreCopied) {
  // 3 floats per image: image 1 starts 12 bytes in, not on the 64-byte alignment a view would
  // keep; the result must not depend on that.
  Builder b;
  b.op("y", "Relu6", {b.input({-1, 3})});
  const Tensor x = random_tensor({7, 3}, 5);
  Outcome split = run(b.g, {"y:0"}, {x}, BatchSplit::kOn);
  EXPECT_EQ(split.observed, 7 * split.steps);
  for (int64_t i = 0; i < 21; ++i)
    EXPECT_FLOAT_EQ(split.out[0].data<float>()[i], std::clamp(x.data<float>()[i], 0.f, 6.f));
}

// Where an image has shrunk and the weights have not, the last steps run over groups of
// images (PerImagePlan::tail_step): here a 1x1 layer with 1.2 MB of weights on 2x2 images of
// 512 channels, after a Relu whose output outweighs its (no) weights. 7 images on 2 threads
// make groups of 4 and 3; a fetch from before the tail comes back whole too.
TEST(BatchSplit, LastLayersWithHeavyWeightsRunOverGroupsOfImages) {
  auto graph = [](int64_t out_c) {
    Builder b;
    Endpoint relu = b.op("relu", "Relu", {b.input({-1, 2, 2, 512})});
    Endpoint conv =
        b.op("conv", "Conv2D", {relu, b.weights("w", {1, 1, 512, out_c})},
             {{"padding", std::string("VALID")}, {"strides", std::vector<int64_t>{1, 1, 1, 1}}});
    Endpoint relu6 = b.op("relu6", "Relu6", {conv});
    b.op("mean", "Mean", {relu6, b.ints("axes", {2}, {1, 2})});
    return b.g;
  };
  const std::vector<std::string> fetches = {"mean:0", "relu:0"};
  const Tensor x = random_tensor({7, 2, 2, 512});
  std::map<std::string, PartialShape> load = {{"x:0", PartialShape(Shape{7, 2, 2, 512})}};
  const Graph heavy = graph(600);  // 1.2 MB of weights
  Outcome grouped = run(heavy, fetches, {x}, BatchSplit::kOn, 2, load);
  Outcome whole = run(heavy, fetches, {x}, BatchSplit::kOff, 2, load);
  EXPECT_TRUE(grouped.splits) << grouped.blocker;
  EXPECT_EQ(grouped.tail, grouped.steps - 1);
  EXPECT_EQ(grouped.observed, 7 * 1 + 2 * grouped.tail);
  ASSERT_EQ(grouped.out.size(), 2u);
  EXPECT_EQ(grouped.out[0].shape(), (Shape{7, 600}));
  expect_near(grouped.out[0], whole.out[0]);
  expect_near(grouped.out[1], whole.out[1]);
  EXPECT_EQ(whole.tail, 0);
  // One thread: one group of up to 8 images. Two images on two threads: groups of one, each
  // still running the tail.
  Outcome one = run(heavy, fetches, {x}, BatchSplit::kOn, 1, load);
  EXPECT_EQ(one.observed, 7 * 1 + one.tail);
  expect_near(one.out[0], whole.out[0]);
  const Tensor x2 = random_tensor({2, 2, 2, 512}, 7);
  Outcome pair = run(heavy, fetches, {x2}, BatchSplit::kAuto, 2, load);
  Outcome pair_whole = run(heavy, fetches, {x2}, BatchSplit::kOff, 2, load);
  EXPECT_TRUE(pair.splits);
  EXPECT_EQ(pair.observed, 2 * pair.steps);
  ASSERT_EQ(pair.out.size(), 2u);
  expect_near(pair.out[0], pair_whole.out[0]);
  expect_near(pair.out[1], pair_whole.out[1]);
  // Without the batch at load the sizes per image are unknown; under 1 MiB of weights (256
  // output channels: 0.5 MB) one image at a time reads them from L2.
  EXPECT_EQ(run(heavy, fetches, {x}, BatchSplit::kOn).tail, 0);
  Outcome light = run(graph(256), fetches, {x}, BatchSplit::kOn, 2, load);
  EXPECT_EQ(light.tail, 0);
  EXPECT_EQ(light.observed, 7 * light.steps);
}

// MobileNet v1 0.25_128 on a batch of 5 (the three reference images and two more), two
// threads: split image by image, it gives the whole-batch logits, and each reference image's.
TEST(BatchSplit, MobileNetBatchOfFiveMatchesTheWholeBatch) {
  POET_REQUIRE_FIXTURE("reference/mobilenet_v1_0.25_128/panda.input.npy");
  const Graph g = tf::load_graphdef(fixture("mobilenet_v1_0.25_128/frozen_graph.pb"));
  const char* const names[] = {"panda", "flower1", "flower2"};
  std::vector<Tensor> images;
  for (const char* n : names)
    images.push_back(
        read_npy(fixture(std::string("reference/mobilenet_v1_0.25_128/") + n + ".input.npy")));
  const int64_t image_size = images[0].num_elements();
  Tensor batch(DType::kFloat32, {5, 128, 128, 3});
  for (int i = 0; i < 5; ++i) {
    std::span<const float> from = images[i % 3].data<float>();
    std::span<float> to = batch.data<float>().subspan(i * image_size, image_size);
    for (int64_t k = 0; k < image_size; ++k) to[k] = i < 3 ? from[k] : -0.5f * from[k];
  }
  const std::vector<std::string> fetch = {"MobilenetV1/Predictions/Reshape:0"};
  // As poet bench loads it (the batch known at load) and without a load-time shape.
  for (bool batch_at_load : {false, true}) {
    SCOPED_TRACE(batch_at_load ? "batch known at load" : "batch from the graph");
    std::map<std::string, PartialShape> load;
    if (batch_at_load) load["input:0"] = PartialShape(Shape{5, 128, 128, 3});
    Outcome split = run(g, fetch, {batch}, BatchSplit::kOn, 2, load, {"input:0"});
    Outcome whole = run(g, fetch, {batch}, BatchSplit::kOff, 2, load, {"input:0"});
    EXPECT_TRUE(split.splits) << split.blocker;
    // The 8x8 and 4x4 layers on from the first whose weights outweigh its output, and the
    // logits, run over two groups (3 and 2 images): 8 depthwise and 1x1 pairs, each one
    // step (engine/optimize/conv_chain.cc), from the 8x8 one on, and the pool,
    // logits, squeeze and reshape. (The graph declares a batch of 1: its sizes per image are
    // known either way.)
    EXPECT_EQ(split.tail, 12);
    EXPECT_EQ(split.observed, 5 * (split.steps - split.tail) + 2 * split.tail);
    expect_near(split.out[0], whole.out[0]);
    for (int i = 0; i < 3; ++i) {
      Tensor want = read_npy(
          fixture(std::string("reference/mobilenet_v1_0.25_128/") + names[i] + ".logits.npy"));
      std::span<const float> got = split.out[0].data<float>().subspan(i * 1001, 1001);
      for (int k = 0; k < 1001; ++k) ASSERT_NEAR(got[k], want.data<float>()[k], 1e-4f) << names[i];
    }
  }
}

}  // namespace
}  // namespace poet::testing
