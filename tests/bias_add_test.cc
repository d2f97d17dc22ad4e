// BiasAdd and BiasAddV1: bias over the last axis; NHWC only.
#include <gtest/gtest.h>

#include "tests/op_test_util.h"

namespace poet::testing {
namespace {

TEST(BiasAdd, AddsPerChannelOnTheLastAxis) {
  // 1x2x2x3 NHWC: each pixel's three channels get 10, 20, 30.
  std::vector<float> in(12);
  for (int i = 0; i < 12; ++i) in[i] = static_cast<float>(i);
  Tensor out = run_op1("BiasAdd", {floats({1, 2, 2, 3}, in), floats({3}, {10, 20, 30})},
                       {{"data_format", std::string("NHWC")}, {"T", DType::kFloat32}});
  EXPECT_EQ(out.shape(), (Shape{1, 2, 2, 3}));
  EXPECT_EQ(floats(out), (std::vector<float>{10, 21, 32, 13, 24, 35, 16, 27, 38, 19, 30, 41}));
}

TEST(BiasAdd, MatrixAndV1) {
  Tensor value = floats({3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor bias = floats({2}, {0.5f, -1});
  std::vector<float> want{1.5f, 1, 3.5f, 3, 5.5f, 5};
  EXPECT_EQ(floats(run_op1("BiasAdd", {value, bias})), want);  // data_format defaults to NHWC
  EXPECT_EQ(floats(run_op1("BiasAddV1", {value, bias})), want);
}

TEST(BiasAdd, InfersChannelsFromTheBias) {
  auto info = infer_op("BiasAdd", {fed_input(DType::kFloat32, Shape{-1, 4, 4, -1}),
                                   fed_input(DType::kFloat32, Shape{5})});
  EXPECT_EQ(info.shape.str(), "[?,4,4,5]");
  Executable exe = load_op("BiasAdd", {fed_input(DType::kFloat32, Shape{2, 3, 5}),
                                       fed_input(DType::kFloat32, Shape{5})});
  EXPECT_EQ(exe.steps()[0].flops, 30);
}

TEST(BiasAdd, RejectsMismatchesAndNCHW) {
  std::string e =
      run_op_error("BiasAdd", {floats({2, 3}, {1, 2, 3, 4, 5, 6}), floats({2}, {1, 2})});
  EXPECT_NE(e.find("bias has 2 elements"), std::string::npos) << e;
  EXPECT_NE(e.find("[2,3]"), std::string::npos) << e;
  e = run_op_error("BiasAdd", {floats({3}, {1, 2, 3}), floats({3}, {1, 2, 3})});
  EXPECT_NE(e.find("rank >= 2"), std::string::npos) << e;
  e = run_op_error("BiasAdd", {floats({1, 3}, {1, 2, 3}), floats({1, 3}, {1, 2, 3})});
  EXPECT_NE(e.find("expected rank 1"), std::string::npos) << e;
  e = run_op_error("BiasAdd", {floats({1, 3}, {1, 2, 3}), floats({3}, {1, 2, 3})},
                   {{"data_format", std::string("NCHW")}});
  EXPECT_NE(e.find("data_format 'NCHW' is not supported"), std::string::npos) << e;
}

}  // namespace
}  // namespace poet::testing
