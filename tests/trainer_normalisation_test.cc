// --normalize_bottlenecks (trainer/normalisation) and reading a graph's own input
// normalisation (trainer/graph_preprocessing): hand-checked statistics, the fold into the
// layer reproducing the normalised layer's probabilities, and the Sub/Mul pattern.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/error.h"
#include "engine/graph.h"
#include "tests/expect_error.h"
#include "trainer/graph_preprocessing.h"
#include "trainer/normalisation.h"
#include "trainer/softmax_layer.h"

namespace poet::trainer {
namespace {

using ::poet::testing::error_of;
using ::poet::testing::expect_error;

TEST(TrainerNormalisation, FitsMeanAndInverseStd) {
  // Feature 0: 1, 3, 5 (mean 3, population std sqrt(8/3)); feature 1: constant 7.
  std::vector<float> rows = {1, 7, 3, 7, 5, 7};
  FeatureNormalisation f = FeatureNormalisation::fit(rows, 2);
  EXPECT_FLOAT_EQ(f.mean()[0], 3.0f);
  EXPECT_FLOAT_EQ(f.scale()[0], static_cast<float>(1.0 / std::sqrt(8.0 / 3.0)));
  EXPECT_FLOAT_EQ(f.mean()[1], 7.0f);
  EXPECT_FLOAT_EQ(f.scale()[1], 1.0f);  // constant: centred only
  f.apply(rows);
  EXPECT_FLOAT_EQ(rows[0], static_cast<float>(-2.0 / std::sqrt(8.0 / 3.0)));
  EXPECT_FLOAT_EQ(rows[1], 0.0f);
  EXPECT_FLOAT_EQ(rows[2], 0.0f);
  EXPECT_FLOAT_EQ(rows[4], static_cast<float>(2.0 / std::sqrt(8.0 / 3.0)));
}

TEST(TrainerNormalisation, RejectsPartialRows) {
  std::vector<float> rows = {1, 2, 3};
  expect_error([&] { FeatureNormalisation::fit(rows, 2); }, "not whole rows of 2");
  EXPECT_THROW(FeatureNormalisation::fit({}, 2), Error);
  FeatureNormalisation f = FeatureNormalisation::fit(std::vector<float>{1, 2, 3, 4}, 2);
  std::vector<float> odd = {1, 2, 3};
  EXPECT_THROW(f.apply(odd), Error);
}

// Rows one at a time: an offset of 1e4 does not swamp a spread of 2 (std 2, not 0 or noise).
TEST(TrainerNormalisation, StatisticsStreamAccurately) {
  FeatureStatistics stats(1);
  EXPECT_THROW(stats.finish(), Error);  // no rows
  for (float v : {10000.0f, 10004.0f, 10000.0f, 10004.0f}) stats.add(std::vector<float>{v});
  EXPECT_EQ(stats.count(), 4u);
  FeatureNormalisation f = stats.finish();
  EXPECT_FLOAT_EQ(f.mean()[0], 10002.0f);
  EXPECT_FLOAT_EQ(f.scale()[0], 0.5f);
  EXPECT_EQ(error_of([&] {
              stats.add(std::vector<float>{1, 2});
            }),
            "--normalize_bottlenecks: a row of 2 values, expected 1");
  EXPECT_THROW(FeatureStatistics(0), Error);
}

// The folded layer on raw inputs = the trained layer on normalised inputs, for features of
// very different scales and offsets (as real bottlenecks have).
TEST(TrainerNormalisation, FoldReproducesProbabilities) {
  const int size = 5, classes = 3, n = 4;
  std::vector<float> raw = {0.01f, 3, -200, 0.5f, 9, 0.03f, 1, -180, 0.5f, 9,
                            0.02f, 8, -230, 0.5f, 9, 0.05f, 2, -190, 0.5f, 9};
  FeatureNormalisation f = FeatureNormalisation::fit(raw, size);
  std::vector<float> normalised = raw;
  f.apply(normalised);
  std::vector<float> w(size * classes), b = {0.3f, -0.2f, 0.1f};
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(static_cast<float>(i) + 1.0f);
  SoftmaxLayer trained(size, classes, w, b);
  SoftmaxLayer folded = f.fold(trained);
  std::vector<double> want = trained.probabilities(normalised);
  std::vector<double> got = folded.probabilities(raw);
  ASSERT_EQ(got.size(), static_cast<size_t>(n * classes));
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << i;
  // Not a no-op: the normalised inputs differ from the raw ones.
  EXPECT_GT(std::fabs(normalised[2] - raw[2]), 1.0f);
  EXPECT_THROW(f.fold(SoftmaxLayer(size + 1, classes, 1)), Error);
}

Node node(const std::string& name, const std::string& op, std::vector<Endpoint> inputs = {}) {
  Node n;
  n.name = name;
  n.op = op;
  n.inputs = std::move(inputs);
  return n;
}

Node scalar_const(const std::string& name, float value) {
  Node n = node(name, "Const");
  n.attrs["dtype"] = DType::kFloat32;
  n.attrs["value"] = Tensor::scalar_float(value);
  return n;
}

// Placeholder -> Sub(x, Sub/y) -> Mul(Sub, Mul/y) or Mul(Mul/y, Sub).
Graph pipeline(float mean, float scale, bool const_first) {
  Graph g;
  Node in = node("image", "Placeholder");
  in.attrs["dtype"] = DType::kFloat32;
  int x = g.add(in);
  int sy = g.add(scalar_const("Sub/y", mean));
  int sub = g.add(node("Sub", "Sub", {{x, 0}, {sy, 0}}));
  int my = g.add(scalar_const("Mul/y", scale));
  std::vector<Endpoint> mul_in = {{sub, 0}, {my, 0}};
  if (const_first) std::swap(mul_in[0], mul_in[1]);
  g.add(node("Mul", "Mul", mul_in));
  return g;
}

TEST(GraphPreprocessing, ReadsSubAndMulConstants) {
  for (bool const_first : {false, true}) {
    Graph g = pipeline(0.0f, 1.0f / 255.0f, const_first);
    auto n = read_graph_normalisation(g, "Mul:0");
    ASSERT_TRUE(n.has_value()) << const_first;
    EXPECT_EQ(n->mean, 0.0f);
    EXPECT_EQ(n->scale, 1.0f / 255.0f);
    EXPECT_EQ(static_cast<float>(1.0 / n->std), 1.0f / 255.0f);
  }
  auto inception = read_graph_normalisation(pipeline(128, 1.0f / 128, false), "Mul:0");
  ASSERT_TRUE(inception.has_value());
  EXPECT_EQ(inception->mean, 128.0f);
  EXPECT_EQ(inception->std, 128.0f);
}

TEST(GraphPreprocessing, OtherTensorsHaveNone) {
  Graph g = pipeline(0, 0.5f, false);
  EXPECT_FALSE(read_graph_normalisation(g, "Sub:0").has_value());  // not a Mul
  EXPECT_FALSE(read_graph_normalisation(g, "image:0").has_value());
  EXPECT_FALSE(read_graph_normalisation(g, "Mul:1").has_value());
  EXPECT_FALSE(read_graph_normalisation(g, "missing:0").has_value());
  EXPECT_FALSE(read_graph_normalisation(pipeline(0, 0.0f, false), "Mul:0").has_value());
}

// ImageInputSpec multiplies by float(1.0 / std): the std found must give back the constant.
TEST(GraphPreprocessing, StdRoundTripsToTheScale) {
  for (float scale : {1.0f / 255, 1.0f / 128, 1.0f / 127.5f, 0.1f, 3.0f, 1.0f / 3, 7e-5f}) {
    float std = std_for_scale(scale);
    EXPECT_EQ(static_cast<float>(1.0 / std), scale) << scale;
  }
}

}  // namespace
}  // namespace poet::trainer
