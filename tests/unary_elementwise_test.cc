// Rsqrt, Relu, Relu6: hand-checked values, odd sizes, special values, type errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tests/op_test_util.h"

namespace poet::testing {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(UnaryElementwise, Rsqrt) {
  std::vector<float> out =
      floats(run_op1("Rsqrt", {floats({5}, {4, 0.25f, 1, 0, 100})}, {{"T", DType::kFloat32}}));
  EXPECT_EQ(out, (std::vector<float>{0.5f, 2, 1, kInf, 0.1f}));
  EXPECT_TRUE(std::isnan(floats(run_op1("Rsqrt", {floats({1}, {-1})}))[0]));
}

TEST(UnaryElementwise, ReluClampsBelowZero) {
  Tensor out = run_op1("Relu", {floats({1, 1, 1, 5}, {-3, -0.5f, 0, 0.5f, 7})});
  EXPECT_EQ(out.shape(), (Shape{1, 1, 1, 5}));
  EXPECT_EQ(floats(out), (std::vector<float>{0, 0, 0, 0.5f, 7}));
}

TEST(UnaryElementwise, Relu6ClampsToZeroToSix) {
  Tensor out = run_op1("Relu6", {floats({7}, {-kInf, -1, 0, 3, 6, 6.5f, kInf})});
  EXPECT_EQ(floats(out), (std::vector<float>{0, 0, 0, 3, 6, 6, 6}));
}

TEST(UnaryElementwise, ScalarsAndEmptyTensors) {
  EXPECT_EQ(floats(run_op1("Relu", {Tensor::scalar_float(-2)})), std::vector<float>{0});
  EXPECT_EQ(run_op1("Relu6", {Tensor(DType::kFloat32, {2, 0})}).shape(), (Shape{2, 0}));
}

TEST(UnaryElementwise, KeepsPartialShapesAndCountsFlops) {
  EXPECT_EQ(infer_op("Relu", {fed_input(DType::kFloat32, Shape{-1, 7})}).shape.str(), "[?,7]");
  Executable exe = load_op("Rsqrt", {fed_input(DType::kFloat32, Shape{3, 5})});
  EXPECT_EQ(exe.steps()[0].flops, 15);
}

TEST(UnaryElementwise, RejectsNonFloatInput) {
  for (const char* op : {"Rsqrt", "Relu", "Relu6"}) {
    std::string e = run_op_error(op, {ints({2}, {1, 2})});
    EXPECT_NE(e.find("int32"), std::string::npos) << e;
    EXPECT_NE(e.find(op), std::string::npos) << e;
  }
}

}  // namespace
}  // namespace poet::testing
