// Softmax over the last axis: hand-checked rows, stability with huge logits, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/op_test_util.h"

namespace poet::testing {
namespace {

TEST(Softmax, NormalisesEachRow) {
  // Row 0: logits 0, ln 2, ln 5 -> weights 1, 2, 5 of 8. Row 1: equal logits.
  Tensor out = run_op1("Softmax", {floats({2, 3}, {0, std::log(2.f), std::log(5.f), 7, 7, 7})},
                       {{"T", DType::kFloat32}});
  ASSERT_EQ(out.shape(), (Shape{2, 3}));
  std::vector<float> p = floats(out);
  EXPECT_FLOAT_EQ(p[0], 1.f / 8);
  EXPECT_FLOAT_EQ(p[1], 2.f / 8);
  EXPECT_FLOAT_EQ(p[2], 5.f / 8);
  for (int i = 3; i < 6; ++i) EXPECT_FLOAT_EQ(p[i], 1.f / 3);
}

TEST(Softmax, SubtractsTheMaximumSoLargeLogitsDoNotOverflow) {
  std::vector<float> p =
      floats(run_op1("Softmax", {floats({1, 1, 2}, {1000, 1000 - std::log(3.f)})}));
  // 1000 - ln 3 is only exact to float's 6e-5 steps at that magnitude.
  EXPECT_NEAR(p[0], 0.75f, 1e-4);
  EXPECT_NEAR(p[1], 0.25f, 1e-4);
  p = floats(run_op1("Softmax", {floats({3}, {-1000, 0, -1000})}));
  EXPECT_EQ(p, (std::vector<float>{0, 1, 0}));
}

TEST(Softmax, OddSizesAndSingleClass) {
  std::vector<float> logits(5 * 7);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>(i % 7) - 3;
  std::vector<float> p = floats(run_op1("Softmax", {floats({5, 7}, logits)}));
  for (int row = 0; row < 5; ++row) {
    float sum = 0;
    for (int c = 0; c < 7; ++c) sum += p[row * 7 + c];
    EXPECT_NEAR(sum, 1.f, 1e-6f);
    EXPECT_FLOAT_EQ(p[row * 7 + 6] / p[row * 7 + 5], std::exp(1.f));
  }
  EXPECT_EQ(floats(run_op1("Softmax", {floats({2, 1}, {-5, 9})})), (std::vector<float>{1, 1}));
}

TEST(Softmax, RejectsScalarsAndIntegers) {
  EXPECT_NE(run_op_error("Softmax", {Tensor::scalar_float(1)}).find("rank >= 1"),
            std::string::npos);
  EXPECT_NE(run_op_error("Softmax", {ints({2}, {1, 2})}).find("int32"), std::string::npos);
  EXPECT_EQ(infer_op("Softmax", {fed_input(DType::kFloat32, Shape{-1, 6})}).shape.str(), "[?,6]");
}

}  // namespace
}  // namespace poet::testing
