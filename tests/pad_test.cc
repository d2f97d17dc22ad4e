// Pad: zero padding before and after each axis, with int32 or int64 paddings.
#include <gtest/gtest.h>

#include "tests/op_test_util.h"

namespace poet::testing {
namespace {

Tensor six() { return floats({2, 3}, {1, 2, 3, 4, 5, 6}); }

TEST(Pad, PadsEachAxisBeforeAndAfter) {
  // One row before, two columns after.
  Tensor out = run_op1("Pad", {six(), ints({2, 2}, {1, 0, 0, 2})});
  EXPECT_EQ(out.shape(), (Shape{3, 5}));
  EXPECT_EQ(floats(out), (std::vector<float>{0, 0, 0, 0, 0,  //
                                             1, 2, 3, 0, 0,  //
                                             4, 5, 6, 0, 0}));
}

TEST(Pad, PadsNhwcImagesSpatially) {
  // ZeroPadding2D ((1, 0), (0, 1)) on a 1x2x2x2 image, int64 paddings.
  Tensor out = run_op1("Pad", {floats({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}),
                               int64s({4, 2}, {0, 0, 1, 0, 0, 1, 0, 0})});
  EXPECT_EQ(out.shape(), (Shape{1, 3, 3, 2}));
  EXPECT_EQ(floats(out), (std::vector<float>{0, 0, 0, 0, 0, 0,  //
                                             1, 2, 3, 4, 0, 0,  //
                                             5, 6, 7, 8, 0, 0}));
}

TEST(Pad, OddSizesAndTheBatchAxis) {
  Tensor out = run_op1("Pad", {floats({1, 1, 3}, {1, 2, 3}), ints({3, 2}, {1, 1, 0, 1, 2, 0})});
  EXPECT_EQ(out.shape(), (Shape{3, 2, 5}));
  std::vector<float> want(30, 0.f);
  // Input (0,0,k) lands at (1,0,k+2).
  for (int k = 0; k < 3; ++k) want[(1 * 2 + 0) * 5 + k + 2] = static_cast<float>(k + 1);
  EXPECT_EQ(floats(out), want);
}

TEST(Pad, ZeroPaddingIsACopyAndIntegersWork) {
  EXPECT_EQ(floats(run_op1("Pad", {six(), ints({2, 2}, {0, 0, 0, 0})})), floats(six()));
  Tensor out = run_op1("Pad", {ints({2}, {7, 8}), ints({1, 2}, {1, 1})});
  EXPECT_EQ(std::vector<int32_t>(out.data<int32_t>().begin(), out.data<int32_t>().end()),
            (std::vector<int32_t>{0, 7, 8, 0}));
  EXPECT_EQ(floats(run_op1("Pad", {Tensor::scalar_float(3), ints({0, 2}, {})})),
            std::vector<float>{3});
}

TEST(Pad, UnknownBatchAtLoad) {
  Executable exe = load_op("Pad", {fed_input(DType::kFloat32, Shape{-1, 5, 5, 3}),
                                   constant_input(ints({4, 2}, {0, 0, 1, 2, 0, 1, 0, 0}))});
  EXPECT_EQ(exe.fetch_info(0).shape.str(), "[?,8,6,3]");
  std::vector<Tensor> feeds = {Tensor(DType::kFloat32, {2, 5, 5, 3})};
  EXPECT_EQ(exe.run(feeds)[0].shape(), (Shape{2, 8, 6, 3}));
}

TEST(Pad, RejectsBadPaddings) {
  EXPECT_NE(run_op_error("Pad", {six(), ints({2, 2}, {0, -1, 0, 0})})
                .find("paddings[0] is [0, -1]; padding must not be negative"),
            std::string::npos);
  EXPECT_NE(run_op_error("Pad", {six(), ints({3, 2}, {0, 0, 0, 0, 0, 0})})
                .find("paddings has shape [3,2] but the input [2,3] has rank 2"),
            std::string::npos);
  EXPECT_NE(
      run_op_error("Pad", {six(), ints({2, 3}, {0, 0, 0, 0, 0, 0})}).find("expected [rank, 2]"),
      std::string::npos);
  EXPECT_NE(run_op_error("Pad", {six(), floats({2, 2}, {0, 0, 0, 0})}).find("int32 or int64"),
            std::string::npos);
  EXPECT_NE(run_op_error("Pad", {six(), int64s({2, 2}, {0, 0, 0, INT64_MAX})}).find("overflow"),
            std::string::npos);
}

}  // namespace
}  // namespace poet::testing
