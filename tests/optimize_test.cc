// The load-time optimiser: a convolution followed by per-channel scale and shift (batch norm
// in its several spellings) and an activation runs as one fused node, and gives what the
// unoptimised graph gives.
#include <gtest/gtest.h>

#include <malloc.h>

#include <random>

#include "engine/executor.h"
#include "tests/op_test_util.h"
#include "tests/test_graph.h"

namespace poet::testing {
namespace {

// A TestGraph with random float constants and the input "x".
struct Builder : TestGraph {
  std::mt19937 rng{7};

  Endpoint constant(const std::string& name, Shape shape, float lo = -1, float hi = 1) {
    Tensor t(DType::kFloat32, std::move(shape));
    std::uniform_real_distribution<float> u(lo, hi);
    for (float& v : t.data<float>()) v = u(rng);
    return TestGraph::constant(name, t);
  }
  Endpoint input(Shape shape) { return placeholder("x", PartialShape(std::move(shape))); }
  Endpoint conv(const std::string& name, Endpoint x, Shape filter) {
    return op(name, "Conv2D", {x, constant(name + "/w", std::move(filter))},
              {{"padding", std::string("SAME")}, {"strides", std::vector<int64_t>{1, 1, 1, 1}}});
  }
  Endpoint avg_pool(const std::string& name, Endpoint x, int64_t stride = 1) {
    return op(name, "AvgPool", {x},
              {{"padding", std::string("SAME")},
               {"ksize", std::vector<int64_t>{1, 3, 3, 1}},
               {"strides", std::vector<int64_t>{1, stride, stride, 1}}});
  }
  // Inception's pool tower: a 3x3 average, a 1x1 convolution to `out` channels, a batch norm
  // and a Relu named "tower".
  void pool_tower(Endpoint x, int64_t in, int64_t out, int64_t stride = 1) {
    Endpoint c = conv("tower/conv", avg_pool("tower/pool", x, stride), {1, 1, in, out});
    Endpoint bn = op("tower/batchnorm", "BatchNormWithGlobalNormalization",
                     {c, constant("m", {out}), constant("v", {out}, 0.1, 2),
                      constant("beta", {out}), constant("gamma", {out})},
                     {{"variance_epsilon", 0.001f}, {"scale_after_normalization", false}});
    op("tower", "Relu", {bn});
  }
};

Tensor random_input(Shape shape) {
  Tensor t(DType::kFloat32, std::move(shape));
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1, 1);
  for (float& v : t.data<float>()) v = u(rng);
  return t;
}

struct Outcome {
  Tensor value;
  std::vector<std::string> ops;  // the ops of the steps run
};

Outcome run(const Graph& g, const std::string& fetch, Backend backend, Shape in_shape) {
  ExecOptions o;
  o.backend = backend;
  o.threads = 1;
  Executable exe(g, {"x:0"}, {fetch}, o);
  Tensor x = random_input(in_shape);
  Outcome r{exe.run(std::span(&x, 1))[0], {}};
  for (const StepInfo& s : exe.steps()) r.ops.push_back(s.op);
  return r;
}

void expect_close(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  auto x = a.data<float>(), y = b.data<float>();
  for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(x[i], y[i], 1e-4f * (1 + std::abs(y[i]))) << i;
}

TEST(Optimize, MobileNetStyleMulAddRelu6FusesIntoTheConvolution) {
  Builder b;
  Endpoint x = b.input({1, 5, 7, 3});
  Endpoint c = b.conv("conv", x, {3, 3, 3, 6});
  Endpoint m = b.op("bn/mul", "Mul", {c, b.constant("bn/scale", {6}, 0.5, 2)});
  Endpoint a = b.op("bn/add", "Add", {m, b.constant("bn/shift", {6})});
  b.op("relu", "Relu6", {a});
  Outcome fused = run(b.g, "relu:0", Backend::kNative, {1, 5, 7, 3});
  Outcome plain = run(b.g, "relu:0", Backend::kReference, {1, 5, 7, 3});
  expect_close(fused.value, plain.value);
  EXPECT_EQ(fused.ops, (std::vector<std::string>{"_FusedConv2D"}));
  EXPECT_EQ(plain.ops, (std::vector<std::string>{"Conv2D", "Mul", "Add", "Relu6"}));
}

TEST(Optimize, InceptionStyleBatchNormCheckNumericsIdentityRelu) {
  Builder b;
  Endpoint x = b.input({2, 6, 6, 4});
  Endpoint c = b.conv("conv/Conv2D", x, {1, 1, 4, 5});
  Endpoint bn = b.op("conv/batchnorm", "BatchNormWithGlobalNormalization",
                     {c, b.constant("m", {5}), b.constant("v", {5}, 0.1, 2),
                      b.constant("beta", {5}), b.constant("gamma", {5})},
                     {{"variance_epsilon", 0.001f}, {"scale_after_normalization", false}});
  Endpoint check =
      b.op("conv/CheckNumerics", "CheckNumerics", {bn}, {{"message", std::string("conv")}});
  Endpoint id = b.op("conv/control_dependency", "Identity", {bn});
  b.g.node(id.node).control_inputs.push_back(check.node);
  b.op("conv", "Relu", {id});
  Outcome fused = run(b.g, "conv:0", Backend::kNative, {2, 6, 6, 4});
  Outcome plain = run(b.g, "conv:0", Backend::kReference, {2, 6, 6, 4});
  expect_close(fused.value, plain.value);
  EXPECT_EQ(fused.ops, (std::vector<std::string>{"_FusedConv2D"}));
}

TEST(Optimize, ATensorReadTwiceIsNotFoldedAway) {
  Builder b;
  Endpoint x = b.input({1, 4, 4, 2});
  Endpoint c = b.conv("conv", x, {1, 1, 2, 3});
  Endpoint m = b.op("mul", "Mul", {c, b.constant("s", {3})});
  b.op("out", "Add", {m, c});  // the raw conv output is read again
  Outcome fused = run(b.g, "out:0", Backend::kNative, {1, 4, 4, 2});
  Outcome plain = run(b.g, "out:0", Backend::kReference, {1, 4, 4, 2});
  expect_close(fused.value, plain.value);
  EXPECT_EQ(fused.ops, (std::vector<std::string>{"Conv2D", "Mul", "Add"}));
}

// A FusedBatchNorm whose statistics outputs are read cannot become the fused convolution,
// which has one output: its readers indexed past it (a crash, or std::bad_alloc).
TEST(Optimize, ABatchNormWhoseStatisticsAreReadStaysApart) {
  Builder b;
  Endpoint x = b.input({1, 3, 3, 2});
  Endpoint c = b.conv("conv", x, {1, 1, 2, 2});
  b.op("bn", "FusedBatchNorm",
       {c, b.constant("scale", {2}), b.constant("offset", {2}), b.constant("mean", {2}),
        b.constant("variance", {2}, 0.1, 2)},
       {{"is_training", false}, {"epsilon", 0.001f}});
  const std::vector<std::string> fetches = {"bn:0", "bn:1", "bn:4"};
  Tensor in = random_input({1, 3, 3, 2});
  std::vector<std::vector<Tensor>> outs;
  for (Backend backend : {Backend::kNative, Backend::kReference}) {
    ExecOptions o;
    o.backend = backend;
    outs.push_back(Executable(b.g, {"x:0"}, fetches, o).run(std::span(&in, 1)));
  }
  for (size_t i = 0; i < fetches.size(); ++i) expect_close(outs[0][i], outs[1][i]);
}

// A constant of rank 5 added to the convolution's rank-4 output makes a rank-5 result: folded
// into the bias, it left the result at rank 4.
TEST(Optimize, AConstantOfHigherRankIsNotFoldedIntoTheConvolution) {
  Builder b;
  Endpoint x = b.input({1, 4, 4, 2});
  Endpoint c = b.conv("conv", x, {1, 1, 2, 3});
  b.op("out", "Add", {c, b.constant("k", {1, 1, 1, 1, 3})});
  Outcome fused = run(b.g, "out:0", Backend::kNative, {1, 4, 4, 2});
  Outcome plain = run(b.g, "out:0", Backend::kReference, {1, 4, 4, 2});
  EXPECT_EQ(plain.value.shape(), (Shape{1, 1, 4, 4, 3}));
  expect_close(fused.value, plain.value);
}

TEST(Optimize, PoolTowerAveragesAfterItsPointwiseConvolution) {
  Builder b;
  b.pool_tower(b.input({2, 6, 5, 8}), 8, 3);
  Outcome fused = run(b.g, "tower:0", Backend::kNative, {2, 6, 5, 8});
  Outcome plain = run(b.g, "tower:0", Backend::kReference, {2, 6, 5, 8});
  expect_close(fused.value, plain.value);
  EXPECT_EQ(fused.ops, (std::vector<std::string>{"_FusedConv2D", "_FusedAvgPool"}));
  EXPECT_EQ(plain.ops, (std::vector<std::string>{"AvgPool", "Conv2D",
                                                 "BatchNormWithGlobalNormalization", "Relu"}));
  // A batch split over two threads runs the moved pool image by image.
  ExecOptions o;
  o.threads = 2;
  Executable exe(b.g, {"x:0"}, {"tower:0"}, o);
  EXPECT_TRUE(exe.batch_split_blocker().empty()) << exe.batch_split_blocker();
  Tensor x = random_input({2, 6, 5, 8});
  expect_close(exe.run(std::span(&x, 1))[0], plain.value);
}

TEST(Optimize, PoolWithoutActivationAfterTheConvolution) {
  Builder b;
  Endpoint c = b.conv("conv", b.avg_pool("pool", b.input({1, 4, 4, 6})), {1, 1, 6, 2});
  b.op("out", "BiasAdd", {c, b.constant("bias", {2})});
  Outcome fused = run(b.g, "out:0", Backend::kNative, {1, 4, 4, 6});
  Outcome plain = run(b.g, "out:0", Backend::kReference, {1, 4, 4, 6});
  expect_close(fused.value, plain.value);
  EXPECT_EQ(fused.ops, (std::vector<std::string>{"_FusedConv2D", "AvgPool"}));
}

TEST(Optimize, PoolStaysFirstWhereMovingItWouldNotPayOrChangeTheResult) {
  struct Case {
    const char* what;
    int64_t in, out, stride;
  };
  // A convolution to as many channels would pool as much; a stride-2 pool has fewer pixels
  // than its input, which the convolution would then run over.
  for (const Case& c : {Case{"widening", 4, 4, 1}, Case{"strided pool", 8, 3, 2}}) {
    SCOPED_TRACE(c.what);
    Builder b;
    b.pool_tower(b.input({1, 6, 6, c.in}), c.in, c.out, c.stride);
    Outcome fused = run(b.g, "tower:0", Backend::kNative, {1, 6, 6, c.in});
    expect_close(fused.value, run(b.g, "tower:0", Backend::kReference, {1, 6, 6, c.in}).value);
    EXPECT_EQ(fused.ops, (std::vector<std::string>{"AvgPool", "_FusedConv2D"}));
  }
  // The pooled tensor read twice.
  Builder b;
  Endpoint pool = b.avg_pool("pool", b.input({1, 4, 4, 6}));
  Endpoint c = b.conv("conv", pool, {1, 1, 6, 2});
  Endpoint relu = b.op("relu", "Relu", {c});
  b.op("out", "ConcatV2",
       {relu, pool, b.TestGraph::constant("axis", Tensor::from_ints({}, std::vector<int32_t>{3}))},
       {{"N", int64_t{2}}});
  Outcome fused = run(b.g, "out:0", Backend::kNative, {1, 4, 4, 6});
  expect_close(fused.value, run(b.g, "out:0", Backend::kReference, {1, 4, 4, 6}).value);
  EXPECT_EQ(fused.ops, (std::vector<std::string>{"AvgPool", "_FusedConv2D", "ConcatV2"}));
}

TEST(Optimize, FetchedIntermediateStaysComputed) {
  Builder b;
  Endpoint x = b.input({1, 4, 4, 2});
  Endpoint c = b.conv("conv", x, {1, 1, 2, 3});
  b.op("relu", "Relu", {c});
  ExecOptions o;
  o.threads = 1;
  Executable exe(b.g, {"x:0"}, {"conv:0", "relu:0"}, o);
  Tensor in = random_input({1, 4, 4, 2});
  std::vector<Tensor> out = exe.run(std::span(&in, 1));
  auto conv = out[0].data<float>(), relu = out[1].data<float>();
  for (size_t i = 0; i < conv.size(); ++i) EXPECT_EQ(relu[i], std::max(conv[i], 0.f));
}

// The nodes the optimiser adds take names the graph's own nodes may hold: the fused
// convolution's folded filter and bias are "<last node>/fused_filter" and "/fused_bias", unless
// taken ("two nodes are named 'relu/fused_bias'").
TEST(Optimize, AddedNodesTakeNamesTheGraphLeavesFree) {
  Builder b;
  Endpoint x = b.input({1, 4, 4, 3});
  Endpoint bias = b.op("bias", "BiasAdd", {b.conv("conv", x, {1, 1, 3, 5}), b.constant("b", {5})});
  Endpoint relu = b.op("relu", "Relu", {bias});
  Endpoint plus = b.op("plus", "Add", {relu, b.constant("relu/fused_bias", {5})});
  b.op("out", "Add", {plus, b.constant("relu/fused_filter", {5})});
  Outcome fused = run(b.g, "out:0", Backend::kNative, {1, 4, 4, 3});
  expect_close(fused.value, run(b.g, "out:0", Backend::kReference, {1, 4, 4, 3}).value);
  EXPECT_EQ(fused.ops, (std::vector<std::string>{"_FusedConv2D", "Add", "Add"}));
}

// Runs `g` fed "x" (random, [1,4,4,3]) and "y" ([3], `y`) with CheckNumerics kept, on `backend`.
std::vector<Tensor> run_checked(const Graph& g, std::vector<std::string> fetches, Backend backend,
                                std::vector<float> y) {
  ExecOptions o;
  o.backend = backend;
  o.check_numerics = true;
  Executable exe(g, {"x:0", "y:0"}, std::move(fetches), o);
  const Tensor feeds[] = {random_input({1, 4, 4, 3}), Tensor::from_floats({3}, y)};
  return exe.run(feeds);
}

// x -> conv -> BiasAdd "bias" -> Relu "relu", which the optimiser fuses into one node, and
// y -> CheckNumerics "chk".
struct ChecksAndControls : Builder {
  Endpoint x = input({1, 4, 4, 3}), y = placeholder("y", PartialShape(Shape{3}));
  Endpoint c = conv("conv", x, {1, 1, 3, 3});
  Endpoint bias = op("bias", "BiasAdd", {c, constant("b", {3})});
  Endpoint relu = op("relu", "Relu", {bias});
  Endpoint chk = op("chk", "CheckNumerics", {y}, {{"message", std::string("y")}});
  void control(Endpoint reader, Endpoint on) {
    g.node(reader.node).control_inputs.push_back(on.node);
  }
};

constexpr Backend kBackends[] = {Backend::kNative, Backend::kOneDnn, Backend::kReference};

// With the checks kept, control inputs on nodes the optimiser fused away (the BiasAdd, the
// filter it replaced) pointed at no node: a crash, on the native and oneDNN backends.
TEST(Optimize, ControlInputsOnFusedNodesWithChecksKept) {
  ChecksAndControls b;
  Endpoint y1 = b.op("y1", "Add", {b.y, b.constant("one", {3})});
  b.control(y1, b.bias);
  b.control(y1, {b.g.find("conv/w"), 0});
  Endpoint y2 = b.op("y2", "Identity", {b.y});
  b.control(y2, b.c);
  const std::vector<Tensor> want =
      run_checked(b.g, {"relu:0", "y1:0", "y2:0"}, Backend::kReference, {1, 2, 3});
  for (Backend backend : kBackends) {
    const std::vector<Tensor> got =
        run_checked(b.g, {"relu:0", "y1:0", "y2:0"}, backend, {1, 2, 3});
    for (size_t i = 0; i < want.size(); ++i) expect_close(got[i], want[i]);
  }
}

// TensorFlow runs every control input, so a CheckNumerics reached only through one fails the
// run: on a node fused away, on an Identity forwarded (read, or fetched), on a node whose value
// is known at load. The fused node kept only its last node's control inputs, and a forwarded
// or folded node's were dropped: the NaN passed.
TEST(Optimize, AKeptCheckReachedOnlyThroughAControlInputRuns) {
  const std::vector<std::pair<std::string, std::function<std::string(ChecksAndControls&)>>> cases =
      {
          {"on the fused BiasAdd",
           [](ChecksAndControls& b) {
             b.control(b.bias, b.chk);
             return std::string("relu:0");
           }},
          {"on an Identity the BiasAdd reads",
           [](ChecksAndControls& b) {
             Endpoint id = b.op("id", "Identity", {b.c});
             b.control(id, b.chk);
             b.g.node(b.bias.node).inputs[0] = id;
             return std::string("relu:0");
           }},
          {"on a fetched Identity",
           [](ChecksAndControls& b) {
             b.control(b.op("idn", "Identity", {b.relu}), b.chk);
             return std::string("idn:0");
           }},
          {"on a Shape known at load",
           [](ChecksAndControls& b) {
             Endpoint shape = b.op("shape", "Shape", {b.x}, {{"out_type", DType::kInt32}});
             b.control(shape, b.chk);
             return std::string("shape:0");
           }},
      };
  for (const auto& [what, build] : cases) {
    for (Backend backend : kBackends) {
      ChecksAndControls b;
      const std::string fetch = build(b);
      EXPECT_NO_THROW(run_checked(b.g, {fetch}, backend, {1, 2, 3})) << what;
      try {
        run_checked(b.g, {fetch}, backend, {1, NAN, 3});
        ADD_FAILURE() << what << ": the NaN passed on " << backend_name(backend);
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("Tensor had NaN values"), std::string::npos)
            << what << ": " << e.what();
      }
    }
  }
}

// The bytes malloc holds now, mapped chunks (large tensors) included.
int64_t heap_bytes() {
  const struct mallinfo2 info = mallinfo2();
  return static_cast<int64_t>(info.uordblks + info.hblkhd);
}

// A kept check that only a control input needs has no reader: its output, a view of its input,
// was copied out of the arena and held to the end of the run (a copy of each checked
// activation: 2.4x the time and 16 MB per check of a 512x512x16 activation). It is dropped as
// its step ends.
TEST(Optimize, AKeptCheckNobodyReadsHoldsNoCopyOfItsInput) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "the sanitizer's allocator keeps its own books";
#endif
  constexpr int kChecks = 4;
  constexpr int64_t kActivation = int64_t{128} * 128 * 16 * 4;  // bytes
  Builder b;
  Endpoint x = b.input({1, 128, 128, 16});
  for (int i = 0; i < kChecks; ++i) {
    Endpoint relu = b.op("relu" + std::to_string(i), "Relu", {x});
    Endpoint chk = b.op("chk" + std::to_string(i), "CheckNumerics", {relu},
                        {{"message", std::string("relu")}});
    Endpoint next = b.op("next" + std::to_string(i), "Relu6", {relu});
    b.g.node(next.node).control_inputs.push_back(chk.node);
    x = next;
  }
  ExecOptions o;
  o.threads = 1;
  o.check_numerics = true;
  Executable exe(b.g, {"x:0"}, {b.g.endpoint_name(x)}, o);
  const Tensor in = random_input({1, 128, 128, 16});
  exe.run(std::span(&in, 1));  // the arena grows to its size in the first run
  // The heap after each check: the fetched output, allocated at the last step, comes after.
  std::vector<int64_t> after_checks;
  const std::vector<StepInfo> steps = exe.steps();
  exe.set_step_observer([&](int step, const StepTime&) {
    if (steps[step].op == "CheckNumerics") after_checks.push_back(heap_bytes());
  });
  exe.run(std::span(&in, 1));
  ASSERT_EQ(after_checks.size(), static_cast<size_t>(kChecks));
  EXPECT_LT(after_checks.back() - after_checks.front(), kActivation / 2)
      << "held across the checks: " << after_checks.back() - after_checks.front() << " bytes";
}

}  // namespace
}  // namespace poet::testing
