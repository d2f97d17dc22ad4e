// DepthwiseConv2dNative: hand-checked cases for per-channel filtering, channel multipliers,
// padding, strides and dilations; the reference kernel's bias and activation.
#include <gtest/gtest.h>

#include "kernels/ref/depthwise_conv2d.h"
#include "tests/op_test_util.h"

namespace poet::testing {
namespace {

std::map<std::string, AttrValue> dw_attrs(std::string padding, int64_t stride = 1,
                                          int64_t dilation = 1) {
  return {{"padding", padding},
          {"strides", std::vector<int64_t>{1, stride, stride, 1}},
          {"dilations", std::vector<int64_t>{1, dilation, dilation, 1}},
          {"data_format", std::string("NHWC")},
          {"T", DType::kFloat32}};
}

std::vector<float> iota(int n, float scale = 1.f) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = static_cast<float>(i) * scale;
  return v;
}

TEST(DepthwiseConv2D, FiltersEachChannelSeparately) {
  // Channel 0 is 1..9 with an all-ones 2x2 filter; channel 1 is 10..90 with all-twos.
  std::vector<float> img;
  for (int i = 1; i <= 9; ++i) img.insert(img.end(), {float(i), float(10 * i)});
  Tensor out = run_op1("DepthwiseConv2dNative",
                       {floats({1, 3, 3, 2}, img), floats({2, 2, 2, 1}, {1, 2, 1, 2, 1, 2, 1, 2})},
                       dw_attrs("VALID"));
  EXPECT_EQ(out.shape(), (Shape{1, 2, 2, 2}));
  EXPECT_EQ(floats(out), (std::vector<float>{12, 240, 16, 320, 24, 480, 28, 560}));
}

TEST(DepthwiseConv2D, MultiplierTwoOrdersOutputsByChannelThenMultiplier) {
  // filter[0,0,c,m]: channel 0 -> (10, 20), channel 1 -> (30, 40).
  Tensor out = run_op1("DepthwiseConv2dNative",
                       {floats({1, 1, 1, 2}, {1, 2}), floats({1, 1, 2, 2}, {10, 20, 30, 40})},
                       dw_attrs("VALID"));
  EXPECT_EQ(out.shape(), (Shape{1, 1, 1, 4}));
  EXPECT_EQ(floats(out), (std::vector<float>{10, 20, 60, 80}));
}

TEST(DepthwiseConv2D, MultiplierTwoOverAWindowAndABatch) {
  // Two images of 2x2 with one channel; a 2x2 filter with multiplier 2: ones and 1,2,3,4.
  Tensor out = run_op1("DepthwiseConv2dNative",
                       {floats({2, 2, 2, 1}, {1, 2, 3, 4, 5, 6, 7, 8}),
                        floats({2, 2, 1, 2}, {1, 1, 1, 2, 1, 3, 1, 4})},
                       dw_attrs("VALID"));
  EXPECT_EQ(out.shape(), (Shape{2, 1, 1, 2}));
  EXPECT_EQ(floats(out), (std::vector<float>{10, 30, 26, 70}));
}

TEST(DepthwiseConv2D, SameWithStride2OnOddSize) {
  // 3x3 ones, stride 2 on 5x5 (0..24): out 3x3, padding 1 before and after.
  Tensor out =
      run_op1("DepthwiseConv2dNative",
              {floats({1, 5, 5, 1}, iota(25)), floats({3, 3, 1, 1}, std::vector<float>(9, 1))},
              dw_attrs("SAME", 2));
  EXPECT_EQ(out.shape(), (Shape{1, 3, 3, 1}));
  EXPECT_EQ(floats(out)[0], 0.f + 1 + 5 + 6);
  EXPECT_EQ(floats(out)[4], 6.f + 7 + 8 + 11 + 12 + 13 + 16 + 17 + 18);
  EXPECT_EQ(floats(out)[8], 18.f + 19 + 23 + 24);
}

TEST(DepthwiseConv2D, SameWithStride2OnEvenSizePadsAfter) {
  // 3x3 ones, stride 2 on 4x4 (0..15): total padding 1, all of it after the image.
  Tensor out =
      run_op1("DepthwiseConv2dNative",
              {floats({1, 4, 4, 1}, iota(16)), floats({3, 3, 1, 1}, std::vector<float>(9, 1))},
              dw_attrs("SAME", 2));
  EXPECT_EQ(out.shape(), (Shape{1, 2, 2, 1}));
  EXPECT_EQ(floats(out), (std::vector<float>{45, 39, 66, 50}));
}

TEST(DepthwiseConv2D, DilationSpreadsTheKernel) {
  Tensor out = run_op1("DepthwiseConv2dNative",
                       {floats({1, 5, 5, 1}, iota(25)), floats({2, 2, 1, 1}, {1, 1, 1, 1})},
                       dw_attrs("VALID", 1, 2));
  EXPECT_EQ(out.shape(), (Shape{1, 3, 3, 1}));
  EXPECT_EQ(floats(out)[0], 0.f + 2 + 10 + 12);
  EXPECT_EQ(floats(out)[8], 12.f + 14 + 22 + 24);
}

TEST(DepthwiseConv2D, ReferenceKernelAddsBiasThenActivates) {
  kernels::ConvShape s;
  s.in_h = s.in_w = s.out_h = s.out_w = 1;
  s.in_c = 1;
  s.out_c = 3;  // multiplier 3
  std::vector<float> out(3);
  std::vector<float> in = {2}, filter = {1, -3, 5}, bias = {0.5f, 1, -2};
  kernels::ref::depthwise_conv2d(s, in, filter, bias, kernels::Activation::kRelu6, out);
  EXPECT_EQ(out, (std::vector<float>{2.5f, 0, 6}));
  kernels::ref::depthwise_conv2d(s, in, filter, bias, kernels::Activation::kRelu, out);
  EXPECT_EQ(out, (std::vector<float>{2.5f, 0, 8}));
  kernels::ref::depthwise_conv2d(s, in, filter, {}, kernels::Activation::kNone, out);
  EXPECT_EQ(out, (std::vector<float>{2, -6, 10}));
}

TEST(DepthwiseConv2D, NoChannelsGivesAnEmptyOutput) {
  Tensor out =
      run_op1("DepthwiseConv2dNative",
              {Tensor(DType::kFloat32, {1, 3, 3, 0}), Tensor(DType::kFloat32, {2, 2, 0, 2})},
              dw_attrs("SAME"));
  EXPECT_EQ(out.shape(), (Shape{1, 3, 3, 0}));
}

TEST(DepthwiseConv2D, UnknownBatchAndFlops) {
  Executable exe = load_op("DepthwiseConv2dNative",
                           {fed_input(DType::kFloat32, Shape{-1, 7, 7, 3}),
                            constant_input(floats({3, 3, 3, 2}, std::vector<float>(54, 1)))},
                           dw_attrs("SAME", 2));
  EXPECT_EQ(exe.fetch_info(0).shape.str(), "[?,4,4,6]");
  std::vector<Tensor> out = exe.run(std::vector<Tensor>{Tensor(DType::kFloat32, {2, 7, 7, 3})});
  EXPECT_EQ(out[0].shape(), (Shape{2, 4, 4, 6}));

  Executable known = load_op("DepthwiseConv2dNative",
                             {fed_input(DType::kFloat32, Shape{1, 7, 7, 3}),
                              constant_input(floats({3, 3, 3, 2}, std::vector<float>(54, 1)))},
                             dw_attrs("SAME", 2));
  EXPECT_EQ(known.steps().at(0).flops, 2 * (4 * 4 * 6) * 3 * 3);
}

TEST(DepthwiseConv2D, RejectsChannelMismatchAndBadAttributes) {
  Tensor img = floats({1, 3, 3, 1}, iota(9));
  Tensor filter = floats({2, 2, 1, 1}, {1, 1, 1, 1});
  EXPECT_NE(run_op_error("DepthwiseConv2dNative", {floats({1, 1, 1, 3}, {1, 2, 3}), filter},
                         dw_attrs("VALID"))
                .find("channels"),
            std::string::npos);
  auto attrs = dw_attrs("VALID");
  attrs["data_format"] = std::string("NCHW");
  EXPECT_NE(run_op_error("DepthwiseConv2dNative", {img, filter}, attrs).find("NCHW"),
            std::string::npos);
  EXPECT_NE(
      run_op_error("DepthwiseConv2dNative", {img, filter}, dw_attrs("EXPLICIT")).find("EXPLICIT"),
      std::string::npos);
  attrs = dw_attrs("VALID");
  attrs["strides"] = std::vector<int64_t>{2, 1, 1, 1};
  EXPECT_NE(run_op_error("DepthwiseConv2dNative", {img, filter}, attrs).find("strides"),
            std::string::npos);
  attrs.erase("strides");
  EXPECT_NE(run_op_error("DepthwiseConv2dNative", {img, filter}, attrs)
                .find("missing attribute 'strides'"),
            std::string::npos);
  EXPECT_NE(run_op_error("DepthwiseConv2dNative", {img, floats({2, 2, 1}, {1, 1, 1, 1})},
                         dw_attrs("VALID"))
                .find("expected rank 4"),
            std::string::npos);
}

}  // namespace
}  // namespace poet::testing
