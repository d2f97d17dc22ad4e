// The real MobileNet v1 0.25_128 graphs from TensorFlow, run end to end against reference
// outputs computed by an independent implementation (OpenCV's DNN importer).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "engine/executor.h"
#include "engine/npy.h"
#include "importers/tensorflow/graphdef.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"
#include "tests/test_graph.h"

namespace poet {
namespace {

using ::poet::testing::expect_error;

constexpr const char* kDir = "mobilenet_v1_0.25_128/";
constexpr const char* kRef = "reference/mobilenet_v1_0.25_128/";
constexpr const char* kLogits = "MobilenetV1/Predictions/Reshape:0";
const char* const kImages[] = {"panda", "flower1", "flower2"};

int64_t argmax(std::span<const float> v) {
  return std::max_element(v.begin(), v.end()) - v.begin();
}

float max_abs_diff(std::span<const float> a, std::span<const float> b) {
  float worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

Tensor logits_of(const std::string& graph_file, const std::string& image, Backend backend,
                 std::map<std::string, Backend> op_backends = {}) {
  Graph g = tf::load_graphdef(testing::fixture(kDir + graph_file));
  ExecOptions options;
  options.backend = backend;
  options.op_backends = std::move(op_backends);
  Executable exe(g, {"input:0"}, {kLogits}, options);
  Tensor input = read_npy(testing::fixture(kRef + image + ".input.npy"));
  return exe.run(std::span(&input, 1))[0];
}

void expect_matches_reference(Backend backend, std::map<std::string, Backend> op_backends = {}) {
  for (const char* image : kImages) {
    Tensor got = logits_of("frozen_graph.pb", image, backend, op_backends);
    Tensor want = read_npy(testing::fixture(std::string(kRef) + image + ".logits.npy"));
    ASSERT_EQ(got.shape(), want.shape()) << image;
    EXPECT_LT(max_abs_diff(got.data<float>(), want.data<float>()), 1e-4f) << image;
    EXPECT_EQ(argmax(got.data<float>()), argmax(want.data<float>())) << image;
  }
}

TEST(MobileNet, BackendsChosenPerOpMatchReferenceLogits) {
  POET_REQUIRE_FIXTURE(kRef);
  const std::map<std::string, Backend> mixed = {{"Conv2D", Backend::kOneDnn},
                                                {"DepthwiseConv2dNative", Backend::kReference},
                                                {"AvgPool", Backend::kOneDnn}};
  expect_matches_reference(Backend::kNative, mixed);
  // Each step says where it ran; fused forms count as their op; oneDNN threads itself, so the
  // batch is not split.
  Graph g = tf::load_graphdef(testing::fixture(std::string(kDir) + "frozen_graph.pb"));
  ExecOptions options;
  options.op_backends = mixed;
  Executable exe(g, {"input:0"}, {kLogits}, options);
  std::map<std::string, std::set<Backend>> seen;
  for (const StepInfo& step : exe.steps()) seen[step.op].insert(step.backend);
  EXPECT_EQ(seen["_FusedConv2D"], std::set{Backend::kOneDnn});
  EXPECT_EQ(seen["_FusedDepthwiseConv2dNative"], std::set{Backend::kReference});
  EXPECT_EQ(seen["AvgPool"], std::set{Backend::kOneDnn});
  EXPECT_EQ(seen["Squeeze"], std::set{Backend::kNative});
  EXPECT_FALSE(exe.batch_split_blocker().empty());
  options.op_backends = {{"Conv3D", Backend::kOneDnn}};
  expect_error([&] { Executable bad(g, {"input:0"}, {kLogits}, options); }, "'Conv3D'");
}

TEST(BackendPerOp, TheOpRunsOnItsOwnBackend) {
  // x * w - 1 with x = w = 1 + 2^-12: the reference kernel rounds the product before adding
  // (2^-11), the native one fuses them (2^-11 + 2^-24), so the result shows which ran.
  const float v = 1.f + std::ldexp(1.f, -12);
  auto run = [&](std::map<std::string, Backend> op_backends) {
    testing::TestGraph t;
    const Endpoint x = t.placeholder("x", PartialShape({1, 1, 1, 1}));
    const Endpoint w = t.constant("w", Tensor::from_floats({1, 1, 1, 1}, std::vector{v}));
    const Endpoint conv =
        t.op("conv", "Conv2D", {x, w},
             {{"padding", std::string("VALID")}, {"strides", std::vector<int64_t>{1, 1, 1, 1}}});
    t.op("biased", "BiasAdd", {conv, t.constant("b", Tensor::from_floats({1}, std::vector{-1.f}))});
    ExecOptions options;
    options.threads = 1;
    options.op_backends = std::move(op_backends);
    Executable exe(std::move(t.g), {"x:0"}, {"biased:0"}, options);
    const std::vector<Tensor> feed = {Tensor::from_floats({1, 1, 1, 1}, std::vector{v})};
    return exe.run(feed)[0].data<float>()[0];
  };
  EXPECT_EQ(run({}), std::ldexp(1.f, -11) + std::ldexp(1.f, -24));
  EXPECT_EQ(run({{"Conv2D", Backend::kReference}}), std::ldexp(1.f, -11));
}

TEST(MobileNet, FrozenGraphMatchesReferenceLogits) {
  POET_REQUIRE_FIXTURE(kRef);
  expect_matches_reference(Backend::kReference);
}

TEST(MobileNet, NativeBackendMatchesReferenceLogits) {
  POET_REQUIRE_FIXTURE(kRef);
  expect_matches_reference(Backend::kNative);
}

TEST(MobileNet, QuantizedGraphGivesTheSameTop1) {
  POET_REQUIRE_FIXTURE(kRef);
  for (const char* image : kImages) {
    Tensor got = logits_of("quantized_graph.pb", image, Backend::kNative);
    Tensor want = read_npy(testing::fixture(std::string(kRef) + image + ".logits.npy"));
    EXPECT_EQ(argmax(got.data<float>()), argmax(want.data<float>())) << image;
  }
}

TEST(MobileNet, SoftmaxSumsToOne) {
  POET_REQUIRE_FIXTURE(kRef);
  Graph g = tf::load_graphdef(testing::fixture(std::string(kDir) + "frozen_graph.pb"));
  Executable exe(g, {"input:0"}, {"MobilenetV1/Predictions/Reshape_1:0"});
  Tensor input = read_npy(testing::fixture(std::string(kRef) + "panda.input.npy"));
  Tensor probs = exe.run(std::span(&input, 1))[0];
  auto p = probs.data<float>();
  EXPECT_NEAR(std::accumulate(p.begin(), p.end(), 0.0), 1.0, 1e-5);
  Tensor want = read_npy(testing::fixture(std::string(kRef) + "panda.probs.npy"));
  EXPECT_LT(max_abs_diff(p, want.data<float>()), 1e-5f);
}

TEST(MobileNet, RetrainedGraphGivesSixProbabilities) {
  POET_REQUIRE_FIXTURE("poets_retrained/retrained_graph.pb");
  Graph g = tf::load_graphdef(testing::fixture("poets_retrained/retrained_graph.pb"));
  Executable exe(g, {"input:0"}, {"final_result:0"});
  Tensor input = read_npy(testing::fixture(std::string(kRef) + "panda.input.npy"));
  Tensor probs = exe.run(std::span(&input, 1))[0];
  EXPECT_EQ(probs.shape(), (Shape{1, 6}));
  auto p = probs.data<float>();
  EXPECT_NEAR(std::accumulate(p.begin(), p.end(), 0.0), 1.0, 1e-5);
  for (float v : p) EXPECT_TRUE(v >= 0 && v <= 1);
}

TEST(MobileNet, BatchOfImagesMatchesSingleRuns) {
  POET_REQUIRE_FIXTURE(kRef);
  Graph g = tf::load_graphdef(testing::fixture(std::string(kDir) + "frozen_graph.pb"));
  ExecOptions options;
  options.feed_shapes["input:0"] = PartialShape(Shape{-1, 128, 128, 3});
  Executable exe(g, {"input:0"}, {kLogits}, options);
  Tensor batch(DType::kFloat32, {3, 128, 128, 3});
  for (int i = 0; i < 3; ++i) {
    Tensor one = read_npy(testing::fixture(std::string(kRef) + kImages[i] + ".input.npy"));
    std::ranges::copy(one.data<float>(), batch.data<float>().begin() + i * one.num_elements());
  }
  Tensor logits = exe.run(std::span(&batch, 1))[0];
  ASSERT_EQ(logits.shape(), (Shape{3, 1001}));
  for (int i = 0; i < 3; ++i) {
    Tensor want = read_npy(testing::fixture(std::string(kRef) + kImages[i] + ".logits.npy"));
    EXPECT_LT(max_abs_diff(logits.data<float>().subspan(i * 1001, 1001), want.data<float>()), 1e-4f)
        << kImages[i];
  }
}

}  // namespace
}  // namespace poet
