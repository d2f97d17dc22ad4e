// Dequantize: TensorFlow's MIN_COMBINED and MIN_FIRST formulas for quint8, attribute and
// input checks, and the quantized MobileNet fixture against its float original.
#include <gtest/gtest.h>

#include <cmath>

#include "importers/tensorflow/graphdef.h"
#include "tests/fixtures.h"
#include "tests/op_test_util.h"

namespace poet::testing {
namespace {

Tensor quint8(Shape shape, std::vector<uint8_t> v) {
  Tensor t(DType::kQUInt8, std::move(shape));
  std::copy(v.begin(), v.end(), t.data<uint8_t>().begin());
  return t;
}

std::vector<float> dequantize(const std::string& mode, std::vector<uint8_t> q, float min,
                              float max) {
  Shape shape{static_cast<int64_t>(q.size())};
  return floats(run_op1("Dequantize",
                        {quint8(shape, q), Tensor::scalar_float(min), Tensor::scalar_float(max)},
                        {{"mode", mode}, {"T", DType::kQUInt8}}));
}

TEST(Dequantize, MinCombinedSpreadsMinToMaxOver255Steps) {
  std::vector<float> out = dequantize("MIN_COMBINED", {0, 51, 255}, 0, 5.1f);
  EXPECT_EQ(out[0], 0.f);
  EXPECT_FLOAT_EQ(out[1], 1.02f);
  EXPECT_FLOAT_EQ(out[2], 5.1f);
  out = dequantize("MIN_COMBINED", {0, 128}, -1, 1);
  EXPECT_EQ(out[0], -1.f);
  EXPECT_NEAR(out[1], 1.f / 255, 1e-7);  // MIN_COMBINED has no exact zero for [-1, 1]
  // The default mode is MIN_COMBINED.
  EXPECT_EQ(floats(run_op1("Dequantize",
                           {quint8({1}, {255}), Tensor::scalar_float(2), Tensor::scalar_float(4)})),
            std::vector<float>{4});
}

TEST(Dequantize, MinFirstSnapsTheMinimumToAStep) {
  // [-1, 1]: the scale 2/255 rounded to float is slightly above 2/255, so min / scale is
  // just above -127.5 and rounds to -127: the range starts at -127 * scale, code 127 is
  // exactly zero and code 255 is about 128 * scale (a step past max).
  const float scale = static_cast<float>(2 / 255.0);
  ASSERT_GT(-1.f / scale, -127.5f);
  std::vector<float> out = dequantize("MIN_FIRST", {0, 127, 128, 255}, -1, 1);
  EXPECT_EQ(out[0], -127 * scale);
  EXPECT_EQ(out[1], 0.f);
  EXPECT_EQ(out[2], -127 * scale + 128 * scale);
  EXPECT_EQ(out[3], -127 * scale + 255 * scale);
  // [-1.5, 1]: the same steps in float, written out.
  const float scale2 = static_cast<float>(2.5 / 255.0);
  const float min_rounded = std::round(-1.5f / scale2) * scale2;
  EXPECT_EQ(dequantize("MIN_FIRST", {0, 100}, -1.5f, 1),
            (std::vector<float>{min_rounded, min_rounded + 100 * scale2}));
  // A minimum already on a step is unchanged: [0, 2.55] gives q / 100.
  out = dequantize("MIN_FIRST", {0, 1, 200}, 0, 2.55f);
  EXPECT_EQ(out[0], 0.f);
  EXPECT_FLOAT_EQ(out[1], 0.01f);
  EXPECT_FLOAT_EQ(out[2], 2.f);
  // An empty range gives the minimum everywhere.
  EXPECT_EQ(dequantize("MIN_FIRST", {0, 9, 255}, 0.3f, 0.3f), (std::vector<float>(3, 0.3f)));
}

TEST(Dequantize, KeepsTheInputShape) {
  Tensor out = run_op1("Dequantize",
                       {quint8({1, 1, 3, 2}, {0, 1, 2, 3, 4, 5}), Tensor::scalar_float(0),
                        Tensor::scalar_float(255)},
                       {{"mode", std::string("MIN_COMBINED")}});
  EXPECT_EQ(out.shape(), (Shape{1, 1, 3, 2}));
  EXPECT_EQ(floats(out), (std::vector<float>{0, 1, 2, 3, 4, 5}));
}

TEST(Dequantize, RejectsOtherModesTypesAndRanges) {
  Tensor q = quint8({2}, {1, 2});
  Tensor lo = Tensor::scalar_float(0), hi = Tensor::scalar_float(1);
  std::string e = run_op_error("Dequantize", {q, lo, hi}, {{"mode", std::string("SCALED")}});
  EXPECT_NE(e.find("mode 'SCALED' is not supported"), std::string::npos) << e;
  e = run_op_error("Dequantize", {q, lo, hi}, {{"axis", int64_t{0}}});
  EXPECT_NE(e.find("per-channel"), std::string::npos) << e;
  e = run_op_error("Dequantize", {q, lo, hi}, {{"dtype", DType::kFloat16}});
  EXPECT_NE(e.find("float16"), std::string::npos) << e;
  e = run_op_error("Dequantize", {floats({2}, {1, 2}), lo, hi});
  EXPECT_NE(e.find("input 0 is float32, expected quint8"), std::string::npos) << e;
  e = run_op_error("Dequantize", {q, floats({2}, {0, 1}), hi});
  EXPECT_NE(e.find("min_range has shape [2]"), std::string::npos) << e;
  e = run_op_error("Dequantize", {q, lo});
  EXPECT_NE(e.find("expects 3 inputs"), std::string::npos) << e;
}

// The quantized MobileNet stores the logits layer's weights as quint8 + MIN_FIRST; the
// frozen graph has them as floats. Dequantized, each weight must be within half a step.
TEST(Dequantize, QuantizedMobileNetMatchesFloatWeights) {
  POET_REQUIRE_FIXTURE("mobilenet_v1_0.25_128/quantized_graph.pb");
  POET_REQUIRE_FIXTURE("mobilenet_v1_0.25_128/frozen_graph.pb");
  const std::string dq = "MobilenetV1/Logits/Conv2d_1c_1x1/weights/read/_1__cf__1";
  Graph quantized = tf::load_graphdef(fixture("mobilenet_v1_0.25_128/quantized_graph.pb"));
  Graph frozen = tf::load_graphdef(fixture("mobilenet_v1_0.25_128/frozen_graph.pb"));
  ASSERT_EQ(quantized.node(quantized.find(dq)).attr_string("mode"), "MIN_FIRST");
  Tensor got = Executable(quantized, {}, {dq + ":0"}).run({})[0];
  Tensor want = Executable(frozen, {}, {"MobilenetV1/Logits/Conv2d_1c_1x1/weights:0"}).run({})[0];
  ASSERT_EQ(got.shape(), want.shape());
  const float min =
      Executable(quantized, {}, {dq + "_quantized_min:0"}).run({})[0].data<float>()[0];
  const float max =
      Executable(quantized, {}, {dq + "_quantized_max:0"}).run({})[0].data<float>()[0];
  const float half_step = (max - min) / 255 / 2;
  auto g = got.data<float>(), w = want.data<float>();
  for (size_t i = 0; i < g.size(); ++i)
    ASSERT_NEAR(g[i], w[i], half_step * 1.001f) << "weight " << i;
}

}  // namespace
}  // namespace poet::testing
