// MaxPool and AvgPool: window placement under SAME/VALID and strides, padded cells ignored
// by max and not counted by average (TensorFlow's AvgPool).
#include <gtest/gtest.h>

#include "tests/op_test_util.h"

namespace poet::testing {
namespace {

std::map<std::string, AttrValue> pool_attrs(std::string padding, int64_t k, int64_t stride) {
  return {{"padding", padding},
          {"ksize", std::vector<int64_t>{1, k, k, 1}},
          {"strides", std::vector<int64_t>{1, stride, stride, 1}},
          {"data_format", std::string("NHWC")},
          {"T", DType::kFloat32}};
}

std::vector<float> iota(int n, float start = 0.f, float step = 1.f) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = start + step * static_cast<float>(i);
  return v;
}

Tensor image3x3() { return floats({1, 3, 3, 1}, iota(9, 1)); }

TEST(MaxPool, ValidStride2OnOddSizeDropsTheLastRowAndColumn) {
  Tensor out = run_op1("MaxPool", {floats({1, 5, 5, 1}, iota(25))}, pool_attrs("VALID", 2, 2));
  EXPECT_EQ(out.shape(), (Shape{1, 2, 2, 1}));
  EXPECT_EQ(floats(out), (std::vector<float>{6, 8, 16, 18}));
}

TEST(MaxPool, SamePaddingNeverWinsOverNegativeValues) {
  // All cells negative (-1..-25): a padded zero would win if padding counted.
  Tensor out =
      run_op1("MaxPool", {floats({1, 5, 5, 1}, iota(25, -1, -1))}, pool_attrs("SAME", 3, 2));
  EXPECT_EQ(out.shape(), (Shape{1, 3, 3, 1}));
  EXPECT_EQ(floats(out), (std::vector<float>{-1, -2, -4, -6, -7, -9, -16, -17, -19}));
}

TEST(MaxPool, ChannelsAndBatchesAreIndependent) {
  // 2 images, 2x2, 2 channels; one 2x2 window each.
  Tensor out = run_op1("MaxPool",
                       {floats({2, 2, 2, 2}, {1, 8, 2, 7, 3, 6, 4, 5,  //
                                              -1, -8, -2, -7, -3, -6, -4, -5})},
                       pool_attrs("VALID", 2, 2));
  EXPECT_EQ(out.shape(), (Shape{2, 1, 1, 2}));
  EXPECT_EQ(floats(out), (std::vector<float>{4, 8, -1, -5}));
}

TEST(AvgPool, SameStride1CountsOnlyCellsInsideTheImage) {
  Tensor out = run_op1("AvgPool", {image3x3()}, pool_attrs("SAME", 3, 1));
  EXPECT_EQ(out.shape(), (Shape{1, 3, 3, 1}));
  // Corners average 4 cells, edges 6, the centre all 9.
  EXPECT_EQ(floats(out), (std::vector<float>{3, 3.5f, 4, 4.5f, 5, 5.5f, 6, 6.5f, 7}));
}

TEST(AvgPool, SameEvenWindowPadsAfterTheImage) {
  // 2x2 windows, stride 2 on 3x3: the last row/column windows hang over the end.
  Tensor out = run_op1("AvgPool", {image3x3()}, pool_attrs("SAME", 2, 2));
  EXPECT_EQ(out.shape(), (Shape{1, 2, 2, 1}));
  EXPECT_EQ(floats(out), (std::vector<float>{3, 4.5f, 7.5f, 9}));
}

TEST(AvgPool, ValidAveragesWholeWindows) {
  // 1x4x3x2: channel 1 is channel 0 times 10. 2x2 windows, stride 1.
  std::vector<float> img;
  for (int i = 0; i < 12; ++i) img.insert(img.end(), {float(i), float(10 * i)});
  Tensor out = run_op1("AvgPool", {floats({1, 4, 3, 2}, img)}, pool_attrs("VALID", 2, 1));
  EXPECT_EQ(out.shape(), (Shape{1, 3, 2, 2}));
  EXPECT_EQ(floats(out), (std::vector<float>{2, 20, 3, 30, 5, 50, 6, 60, 8, 80, 9, 90}));
}

TEST(AvgPool, NonSquareWindowAndStrides) {
  auto attrs = pool_attrs("VALID", 1, 1);
  attrs["ksize"] = std::vector<int64_t>{1, 1, 3, 1};
  attrs["strides"] = std::vector<int64_t>{1, 2, 1, 1};
  Tensor out = run_op1("AvgPool", {floats({1, 3, 3, 1}, iota(9, 1))}, attrs);
  EXPECT_EQ(out.shape(), (Shape{1, 2, 1, 1}));
  EXPECT_EQ(floats(out), (std::vector<float>{2, 8}));
}

TEST(Pool, UnknownBatchAndFlops) {
  for (const char* op : {"MaxPool", "AvgPool"}) {
    Executable exe =
        load_op(op, {fed_input(DType::kFloat32, Shape{-1, 35, 35, 4})}, pool_attrs("VALID", 3, 2));
    EXPECT_EQ(exe.fetch_info(0).shape.str(), "[?,17,17,4]") << op;
    Executable known =
        load_op(op, {fed_input(DType::kFloat32, Shape{2, 35, 35, 4})}, pool_attrs("SAME", 3, 2));
    EXPECT_EQ(known.fetch_info(0).shape.str(), "[2,18,18,4]") << op;
    EXPECT_EQ(known.steps().at(0).flops, int64_t{2} * 18 * 18 * 4 * 3 * 3) << op;
  }
}

TEST(Pool, RejectsBadAttributesAndInputs) {
  for (const char* op : {"MaxPool", "AvgPool"}) {
    auto attrs = pool_attrs("VALID", 2, 1);
    attrs["ksize"] = std::vector<int64_t>{2, 2, 2, 1};
    EXPECT_NE(run_op_error(op, {image3x3()}, attrs).find("'ksize' must be [1, h, w, 1]"),
              std::string::npos);
    attrs.erase("ksize");
    EXPECT_NE(run_op_error(op, {image3x3()}, attrs).find("missing attribute 'ksize'"),
              std::string::npos);
    attrs = pool_attrs("VALID", 2, 1);
    attrs["data_format"] = std::string("NCHW");
    EXPECT_NE(run_op_error(op, {image3x3()}, attrs).find("NCHW"), std::string::npos);
    EXPECT_NE(run_op_error(op, {image3x3()}, pool_attrs("FULL", 2, 1)).find("'FULL'"),
              std::string::npos);
    EXPECT_NE(run_op_error(op, {floats({3, 3}, iota(9))}, pool_attrs("VALID", 2, 1))
                  .find("expected rank 4"),
              std::string::npos);
    EXPECT_NE(run_op_error(op, {ints({1, 1, 1, 1}, {1})}, pool_attrs("VALID", 1, 1))
                  .find("input 0 is int32, but attribute T says float32"),
              std::string::npos);
    EXPECT_NE(run_op_error(op, {image3x3()}, pool_attrs("VALID", 4, 1))
                  .find("VALID padding: the window's height of 4 (kernel 4, dilation 1) is larger "
                        "than the input's 3"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace poet::testing
