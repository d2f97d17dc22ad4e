// Conv2D: hand-checked cases for padding, strides, dilations and channel mixing.
#include <gtest/gtest.h>

#include <limits>

#include "tests/op_test_util.h"

namespace poet::testing {
namespace {

std::map<std::string, AttrValue> conv_attrs(std::string padding, int64_t stride = 1,
                                            int64_t dilation = 1) {
  return {{"padding", padding},
          {"strides", std::vector<int64_t>{1, stride, stride, 1}},
          {"dilations", std::vector<int64_t>{1, dilation, dilation, 1}},
          {"T", DType::kFloat32}};
}

// A 1x3x3x1 image 1..9 and an all-ones 2x2 filter.
Tensor image3x3() { return floats({1, 3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9}); }
Tensor ones2x2() { return floats({2, 2, 1, 1}, {1, 1, 1, 1}); }

TEST(Conv2D, ValidSumsEachWindow) {
  Tensor out = run_op1("Conv2D", {image3x3(), ones2x2()}, conv_attrs("VALID"));
  EXPECT_EQ(out.shape(), (Shape{1, 2, 2, 1}));
  EXPECT_EQ(floats(out), (std::vector<float>{12, 16, 24, 28}));
}

TEST(Conv2D, SamePadsAtTheEndForEvenKernels) {
  // TensorFlow puts the extra padding cell after the image: the last row/column sees zeros.
  Tensor out = run_op1("Conv2D", {image3x3(), ones2x2()}, conv_attrs("SAME"));
  EXPECT_EQ(out.shape(), (Shape{1, 3, 3, 1}));
  EXPECT_EQ(floats(out), (std::vector<float>{12, 16, 9, 24, 28, 15, 15, 17, 9}));
}

TEST(Conv2D, SameWithStride2OnOddSize) {
  // 3x3 kernel, stride 2 on 5x5: out 3x3, total padding 2 split 1/1.
  std::vector<float> img(25);
  for (int i = 0; i < 25; ++i) img[i] = static_cast<float>(i);
  Tensor out =
      run_op1("Conv2D", {floats({1, 5, 5, 1}, img), floats({3, 3, 1, 1}, std::vector<float>(9, 1))},
              conv_attrs("SAME", 2));
  EXPECT_EQ(out.shape(), (Shape{1, 3, 3, 1}));
  // Top-left window covers rows/cols -1..1: 0+1+5+6 = 12.
  EXPECT_EQ(floats(out)[0], 12.f);
  // Centre window covers rows/cols 1..3: sum of 6,7,8,11,12,13,16,17,18 = 108.
  EXPECT_EQ(floats(out)[4], 108.f);
}

TEST(Conv2D, DilationSpreadsTheKernel) {
  std::vector<float> img(25);
  for (int i = 0; i < 25; ++i) img[i] = static_cast<float>(i);
  Tensor out = run_op1("Conv2D", {floats({1, 5, 5, 1}, img), ones2x2()}, conv_attrs("VALID", 1, 2));
  EXPECT_EQ(out.shape(), (Shape{1, 3, 3, 1}));
  EXPECT_EQ(floats(out)[0], 0.f + 2 + 10 + 12);
}

TEST(Conv2D, MixesChannels) {
  // One pixel, 2 input channels, 3 output channels: a 2x3 matrix product.
  Tensor out =
      run_op1("Conv2D", {floats({1, 1, 1, 2}, {1, 2}), floats({1, 1, 2, 3}, {1, 2, 3, 4, 5, 6})},
              conv_attrs("VALID"));
  EXPECT_EQ(floats(out), (std::vector<float>{9, 12, 15}));
}

TEST(Conv2D, RejectsChannelMismatchAndBadAttributes) {
  EXPECT_NE(
      run_op_error("Conv2D", {floats({1, 1, 1, 3}, {1, 2, 3}), ones2x2()}, conv_attrs("VALID"))
          .find("channels"),
      std::string::npos);
  auto attrs = conv_attrs("VALID");
  attrs["data_format"] = std::string("NCHW");
  EXPECT_NE(run_op_error("Conv2D", {image3x3(), ones2x2()}, attrs).find("NCHW"), std::string::npos);
  attrs = conv_attrs("EXPLICIT");
  EXPECT_NE(run_op_error("Conv2D", {image3x3(), ones2x2()}, attrs).find("EXPLICIT"),
            std::string::npos);
}

// TensorFlow: "computed output size would be negative". A 2x2 kernel at dilation 3 spans 4.
TEST(Conv2D, AValidWindowLargerThanTheInputIsAnError) {
  EXPECT_NE(run_op_error("Conv2D", {image3x3(), ones2x2()}, conv_attrs("VALID", 1, 3))
                .find("VALID padding: the window's height of 4 (kernel 2, dilation 3) is larger "
                      "than the input's 3"),
            std::string::npos);
  EXPECT_EQ(run_op1("Conv2D", {image3x3(), ones2x2()}, conv_attrs("SAME", 1, 3)).shape(),
            (Shape{1, 3, 3, 1}));
}

// Strides near int64's limit made (in + stride - 1) / stride overflow to an empty output.
TEST(Conv2D, StridesAndDilationsAreBounded) {
  const int64_t huge = std::numeric_limits<int64_t>::max();
  EXPECT_NE(run_op_error("Conv2D", {image3x3(), ones2x2()}, conv_attrs("SAME", huge))
                .find("attribute 'strides' must be [1, h, w, 1] with 1 <= h, w <= 1073741824, "
                      "got [1, 9223372036854775807, 9223372036854775807, 1]"),
            std::string::npos);
  EXPECT_NE(run_op_error("Conv2D", {image3x3(), ones2x2()}, conv_attrs("SAME", 1, int64_t{1} << 62))
                .find("attribute 'dilations' must be"),
            std::string::npos);
  EXPECT_NE(run_op_error("Conv2D", {image3x3(), ones2x2()}, conv_attrs("SAME", -1))
                .find("got [1, -1, -1, 1]"),
            std::string::npos);
  EXPECT_EQ(run_op1("Conv2D", {image3x3(), ones2x2()}, conv_attrs("SAME", 1 << 30)).shape(),
            (Shape{1, 1, 1, 1}));
}

}  // namespace
}  // namespace poet::testing
