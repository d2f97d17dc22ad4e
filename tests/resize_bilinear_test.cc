// ResizeBilinear: hand-checked sampling grids (legacy, align_corners, half_pixel_centers),
// upscaling and downscaling, any input type to float32, and attribute/size errors.
#include <gtest/gtest.h>

#include "tests/op_test_util.h"

namespace poet::testing {
namespace {

std::map<std::string, AttrValue> grid(bool align_corners, bool half_pixel) {
  return {{"align_corners", align_corners}, {"half_pixel_centers", half_pixel}};
}

void expect_floats_near(const Tensor& t, const std::vector<float>& want) {
  std::vector<float> got = floats(t);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4) << "element " << i;
}

// [[0, 10], [20, 30]] as a 1x2x2x1 image.
Tensor square() { return floats({1, 2, 2, 1}, {0, 10, 20, 30}); }

TEST(ResizeBilinear, Legacy2x2To3x3) {
  // Sample positions i * 2/3 = 0, 0.667, 1.333; the last clamps to row/column 1.
  Tensor out = run_op1("ResizeBilinear", {square(), ints({2}, {3, 3})}, grid(false, false));
  EXPECT_EQ(out.shape(), (Shape{1, 3, 3, 1}));
  expect_floats_near(out, {0, 6.6667f, 10, 13.3333f, 20, 23.3333f, 20, 26.6667f, 30});
}

TEST(ResizeBilinear, AlignCorners2x2To3x3) {
  // Scale (2-1)/(3-1) = 0.5: positions 0, 0.5, 1.
  Tensor out = run_op1("ResizeBilinear", {square(), ints({2}, {3, 3})}, grid(true, false));
  expect_floats_near(out, {0, 5, 10, 10, 15, 20, 20, 25, 30});
}

TEST(ResizeBilinear, TheThreeGridsOnOneRow) {
  Tensor row = floats({1, 1, 2, 1}, {0, 10});
  Tensor size = ints({2}, {1, 4});
  // Legacy: i * 0.5 = 0, 0.5, 1, 1.5 (clamped).
  expect_floats_near(run_op1("ResizeBilinear", {row, size}, grid(false, false)), {0, 5, 10, 10});
  // align_corners: i * 1/3.
  expect_floats_near(run_op1("ResizeBilinear", {row, size}, grid(true, false)),
                     {0, 3.3333f, 6.6667f, 10});
  // half_pixel_centers: (i + 0.5) * 0.5 - 0.5 = -0.25, 0.25, 0.75, 1.25 (ends clamped).
  expect_floats_near(run_op1("ResizeBilinear", {row, size}, grid(false, true)), {0, 2.5, 7.5, 10});
}

TEST(ResizeBilinear, Downscale) {
  Tensor row = floats({1, 1, 4, 1}, {0, 10, 20, 30});
  Tensor size = ints({2}, {1, 2});
  expect_floats_near(run_op1("ResizeBilinear", {row, size}, grid(false, false)), {0, 20});
  expect_floats_near(run_op1("ResizeBilinear", {row, size}, grid(true, false)), {0, 30});
  expect_floats_near(run_op1("ResizeBilinear", {row, size}, grid(false, true)), {5, 25});
}

TEST(ResizeBilinear, DefaultsToLegacyAndKeepsBatchAndChannelsApart) {
  // Two images of two channels; channel 1 is channel 0 plus 100, image 1 is image 0 times 2.
  Tensor in(DType::kUInt8, {2, 1, 2, 2});
  auto d = in.data<uint8_t>();
  const uint8_t values[] = {0, 100, 10, 110, 0, 200, 20, 220};
  std::copy(std::begin(values), std::end(values), d.begin());
  Tensor out = run_op1("ResizeBilinear", {in, ints({2}, {1, 4})});
  EXPECT_EQ(out.dtype(), DType::kFloat32);
  EXPECT_EQ(out.shape(), (Shape{2, 1, 4, 2}));
  expect_floats_near(out, {0, 100, 5, 105, 10, 110, 10, 110, 0, 200, 10, 210, 20, 220, 20, 220});
}

TEST(ResizeBilinear, IntegerInputsConvertToFloat) {
  Tensor in = ints({1, 1, 2, 1}, {1, 2});
  expect_floats_near(run_op1("ResizeBilinear", {in, ints({2}, {1, 4})}), {1, 1.5, 2, 2});
}

TEST(ResizeBilinear, Errors) {
  EXPECT_NE(run_op_error("ResizeBilinear", {square(), ints({2}, {3, 3})}, grid(true, true))
                .find("align_corners"),
            std::string::npos);
  EXPECT_NE(run_op_error("ResizeBilinear", {square(), ints({3}, {3, 3, 3})}).find("2 values"),
            std::string::npos);
  EXPECT_NE(run_op_error("ResizeBilinear", {square(), ints({2}, {0, 3})}).find("positive"),
            std::string::npos);
  EXPECT_NE(run_op_error("ResizeBilinear", {floats({2, 2}, {1, 2, 3, 4}), ints({2}, {3, 3})})
                .find("rank 4"),
            std::string::npos);
  EXPECT_NE(
      run_op_error("ResizeBilinear", {Tensor::from_string("x"), ints({2}, {3, 3})}).find("string"),
      std::string::npos);
}

}  // namespace
}  // namespace poet::testing
