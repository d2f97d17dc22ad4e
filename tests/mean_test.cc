// Mean: axes as int32/int64 scalars or vectors, negative and repeated axes, keep_dims,
// unknown axes at load, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/op_test_util.h"

namespace poet::testing {
namespace {

// 2x3x2 input: value = 100*i + 10*j + k.
Tensor cube() {
  std::vector<float> v;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 2; ++k) v.push_back(100.f * i + 10.f * j + k);
  return floats({2, 3, 2}, v);
}

Tensor int64s(Shape shape, std::vector<int64_t> v) {
  Tensor t(DType::kInt64, std::move(shape));
  std::copy(v.begin(), v.end(), t.data<int64_t>().begin());
  return t;
}

std::map<std::string, AttrValue> keep(bool keep_dims) { return {{"keep_dims", keep_dims}}; }

TEST(Mean, OverOneAxis) {
  Tensor out = run_op1("Mean", {cube(), ints({}, {1})});
  ASSERT_EQ(out.shape(), (Shape{2, 2}));
  EXPECT_EQ(floats(out), (std::vector<float>{10, 11, 110, 111}));
  out = run_op1("Mean", {cube(), ints({1}, {0})}, keep(true));
  ASSERT_EQ(out.shape(), (Shape{1, 3, 2}));
  EXPECT_EQ(floats(out), (std::vector<float>{50, 51, 60, 61, 70, 71}));
}

TEST(Mean, SpatialAxesKeepDimsLikeGlobalPooling) {
  // NHWC [2,3,2] read as H,W,C with axes [0,1]: the per-channel mean.
  for (bool keep_dims : {false, true}) {
    Tensor out = run_op1("Mean", {cube(), int64s({2}, {0, 1})}, keep(keep_dims));
    EXPECT_EQ(out.shape(), keep_dims ? (Shape{1, 1, 2}) : (Shape{2}));
    EXPECT_EQ(floats(out), (std::vector<float>{60, 61}));
  }
}

TEST(Mean, NegativeRepeatedAndAllAxes) {
  EXPECT_EQ(floats(run_op1("Mean", {cube(), ints({2}, {-1, 2})})),
            (std::vector<float>{0.5f, 10.5f, 20.5f, 100.5f, 110.5f, 120.5f}));
  Tensor all = run_op1("Mean", {cube(), ints({3}, {0, -2, 2})});
  EXPECT_EQ(all.shape(), Shape{});
  EXPECT_EQ(floats(all), std::vector<float>{60.5f});
  // No axes: nothing is reduced.
  EXPECT_EQ(floats(run_op1("Mean", {cube(), ints({0}, {})})), floats(cube()));
}

TEST(Mean, EmptyReductionIsNaN) {
  Tensor out = run_op1("Mean", {Tensor(DType::kFloat32, {0, 2}), ints({1}, {0})});
  ASSERT_EQ(out.shape(), (Shape{2}));
  EXPECT_TRUE(std::isnan(floats(out)[0]));
}

TEST(Mean, InfersShapesWithKnownAndUnknownAxes) {
  TensorInfo axes{DType::kInt32, Shape{2}, ints({2}, {1, 2})};
  EXPECT_EQ(infer_op("Mean", {fed_input(DType::kFloat32, Shape{-1, 7, 7, 16}), axes}).shape.str(),
            "[?,16]");
  EXPECT_EQ(infer_op("Mean", {fed_input(DType::kFloat32, Shape{-1, 7, 7, 16}), axes}, keep(true))
                .shape.str(),
            "[?,1,1,16]");
  // Axes fed at run time: only keep_dims pins the rank.
  TensorInfo fed_axes = fed_input(DType::kInt32, Shape{2});
  EXPECT_FALSE(
      infer_op("Mean", {fed_input(DType::kFloat32, Shape{2, 3, 2}), fed_axes}).shape.known_rank);
  EXPECT_EQ(infer_op("Mean", {fed_input(DType::kFloat32, Shape{2, 3, 2}), fed_axes}, keep(true))
                .shape.str(),
            "[?,?,?]");
  Executable exe = load_op("Mean", {fed_input(DType::kFloat32, Shape{2, 3, 2}), fed_axes});
  std::vector<Tensor> out = exe.run(std::vector<Tensor>{cube(), ints({2}, {0, 2})});
  EXPECT_EQ(out[0].shape(), Shape{3});
  EXPECT_EQ(floats(out[0]), (std::vector<float>{50.5f, 60.5f, 70.5f}));
}

TEST(Mean, RejectsBadAxes) {
  std::string e = run_op_error("Mean", {cube(), ints({1}, {3})});
  EXPECT_NE(e.find("axis 3 is out of range for an input of rank 3"), std::string::npos) << e;
  e = run_op_error("Mean", {cube(), ints({1}, {-4})});
  EXPECT_NE(e.find("axis -4"), std::string::npos) << e;
  e = run_op_error("Mean", {cube(), floats({1}, {0})});
  EXPECT_NE(e.find("expected int32 or int64"), std::string::npos) << e;
  e = run_op_error("Mean", {cube(), ints({1, 1}, {0})});
  EXPECT_NE(e.find("scalar or vector"), std::string::npos) << e;
}

}  // namespace
}  // namespace poet::testing
