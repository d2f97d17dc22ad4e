// Concat (axis first, the 2015 op) and ConcatV2 (axis last): hand-checked joins along each
// axis, negative axes, integer tensors, load-time shapes and error messages.
#include <gtest/gtest.h>

#include "tests/op_test_util.h"
#include "tests/test_graph.h"

namespace poet::testing {
namespace {

std::map<std::string, AttrValue> n_attr(int64_t n, DType axis = DType::kInt32) {
  return {{"N", n}, {"T", DType::kFloat32}, {"Tidx", axis}};
}

// Concat (the axis first) has no Tidx: its axis is int32.
std::map<std::string, AttrValue> concat_attr(int64_t n) {
  return {{"N", n}, {"T", DType::kFloat32}};
}

Tensor a() { return floats({2, 2}, {1, 2, 3, 4}); }
Tensor b() { return floats({2, 3}, {5, 6, 7, 8, 9, 10}); }

TEST(ConcatV2, JoinsAlongTheLastAxis) {
  Tensor out = run_op1("ConcatV2", {a(), b(), ints({}, {1})}, n_attr(2));
  EXPECT_EQ(out.shape(), (Shape{2, 5}));
  EXPECT_EQ(floats(out), (std::vector<float>{1, 2, 5, 6, 7, 3, 4, 8, 9, 10}));
  EXPECT_EQ(floats(run_op1("ConcatV2", {a(), b(), ints({}, {-1})}, n_attr(2))), floats(out));
}

TEST(ConcatV2, JoinsAlongTheFirstAxisWithAnInt64Axis) {
  Tensor out = run_op1("ConcatV2", {a(), floats({1, 2}, {9, 9}), a(), int64s({}, {-2})},
                       n_attr(3, DType::kInt64));
  EXPECT_EQ(out.shape(), (Shape{5, 2}));
  EXPECT_EQ(floats(out), (std::vector<float>{1, 2, 3, 4, 9, 9, 1, 2, 3, 4}));
}

TEST(ConcatV2, JoinsChannelsOfNhwcImages) {
  // Inception's mixed blocks: [1,2,2,1] and [1,2,2,2] into [1,2,2,3].
  Tensor out = run_op1("ConcatV2",
                       {floats({1, 2, 2, 1}, {1, 2, 3, 4}),
                        floats({1, 2, 2, 2}, {10, 11, 20, 21, 30, 31, 40, 41}), ints({}, {3})},
                       n_attr(2));
  EXPECT_EQ(out.shape(), (Shape{1, 2, 2, 3}));
  EXPECT_EQ(floats(out), (std::vector<float>{1, 10, 11, 2, 20, 21, 3, 30, 31, 4, 40, 41}));
}

TEST(ConcatV2, JoinsIntegerShapeVectors) {
  Tensor out =
      run_op1("ConcatV2", {ints({1}, {-1}), ints({2}, {7, 3}), ints({}, {0})}, {{"N", int64_t{2}}});
  EXPECT_EQ(out.dtype(), DType::kInt32);
  EXPECT_EQ(std::vector<int32_t>(out.data<int32_t>().begin(), out.data<int32_t>().end()),
            (std::vector<int32_t>{-1, 7, 3}));
}

TEST(Concat, TakesTheAxisFirst) {
  Tensor out = run_op1("Concat", {ints({}, {1}), a(), b()}, concat_attr(2));
  EXPECT_EQ(out.shape(), (Shape{2, 5}));
  EXPECT_EQ(floats(out), (std::vector<float>{1, 2, 5, 6, 7, 3, 4, 8, 9, 10}));
  EXPECT_EQ(run_op1("Concat", {ints({}, {0}), a(), a()}, concat_attr(2)).shape(), (Shape{4, 2}));
  EXPECT_EQ(run_op1("Concat", {ints({}, {-1}), a(), b()}, concat_attr(2)).shape(), (Shape{2, 5}));
}

TEST(ConcatV2, SplitsLargeJoinsOverThreads) {
  // 35x35 pixels of 64 + 96 channels, Inception's size: large enough to split over 2 threads,
  // whose row ranges must each land in the right place.
  TestGraph t;
  const Endpoint x = t.placeholder("x", PartialShape({1, 35, 35, 64}));
  const Endpoint y = t.placeholder("y", PartialShape({1, 35, 35, 96}));
  const Endpoint axis = t.constant("axis", ints({}, {3}));
  t.op("join", "ConcatV2", {x, y, axis}, n_attr(2));
  ExecOptions options;
  options.threads = 2;
  Executable exe(std::move(t.g), {"x:0", "y:0"}, {"join:0"}, options);
  std::vector<float> xv(35 * 35 * 64), yv(35 * 35 * 96);
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = static_cast<float>(i);
  for (size_t i = 0; i < yv.size(); ++i) yv[i] = -static_cast<float>(i);
  const std::vector<Tensor> feeds = {floats({1, 35, 35, 64}, xv), floats({1, 35, 35, 96}, yv)};
  const std::vector<float> out = floats(exe.run(feeds)[0]);
  ASSERT_EQ(out.size(), 35u * 35 * 160);
  for (size_t p = 0; p < 35 * 35; ++p) {
    for (size_t c = 0; c < 160; ++c) {
      const float want = c < 64 ? xv[p * 64 + c] : yv[p * 96 + c - 64];
      ASSERT_EQ(out[p * 160 + c], want) << "pixel " << p << " channel " << c;
    }
  }
}

TEST(ConcatV2, EmptyTensors) {
  Tensor empty = Tensor(DType::kFloat32, {0, 2});
  EXPECT_EQ(run_op1("ConcatV2", {empty, Tensor(DType::kFloat32, {0, 3}), ints({}, {1})}, n_attr(2))
                .shape(),
            (Shape{0, 5}));
  EXPECT_EQ(floats(run_op1("ConcatV2", {empty, a(), ints({}, {0})}, n_attr(2))), floats(a()));
}

TEST(ConcatV2, UnknownBatchAtLoad) {
  Executable exe =
      load_op("ConcatV2",
              {fed_input(DType::kFloat32, Shape{-1, 4}), fed_input(DType::kFloat32, Shape{-1, 3}),
               constant_input(ints({}, {1}))},
              n_attr(2));
  EXPECT_EQ(exe.fetch_info(0).shape.str(), "[?,7]");
  std::vector<Tensor> feeds = {Tensor(DType::kFloat32, {2, 4}), Tensor(DType::kFloat32, {2, 3})};
  EXPECT_EQ(exe.run(feeds)[0].shape(), (Shape{2, 7}));
  // Along the batch axis the total is unknown.
  Executable batch =
      load_op("ConcatV2",
              {fed_input(DType::kFloat32, Shape{-1, 4}), fed_input(DType::kFloat32, Shape{2, 4}),
               constant_input(ints({}, {0}))},
              n_attr(2));
  EXPECT_EQ(batch.fetch_info(0).shape.str(), "[?,4]");
}

TEST(ConcatV2, RejectsMismatchesAndBadAxes) {
  EXPECT_NE(run_op_error("ConcatV2", {a(), b(), ints({}, {0})}, n_attr(2))
                .find("input 1 has shape [2,3], which differs from the others in dimension 1"),
            std::string::npos);
  EXPECT_NE(run_op_error("ConcatV2", {a(), floats({4}, {1, 2, 3, 4}), ints({}, {0})}, n_attr(2))
                .find("of another rank"),
            std::string::npos);
  EXPECT_NE(run_op_error("ConcatV2", {a(), b(), ints({}, {2})}, n_attr(2))
                .find("axis 2 is out of range for rank 2"),
            std::string::npos);
  EXPECT_NE(run_op_error("ConcatV2", {a(), b(), ints({}, {-3})}, n_attr(2)).find("out of range"),
            std::string::npos);
  EXPECT_NE(run_op_error("ConcatV2", {a(), b(), ints({}, {1})}, n_attr(3))
                .find("attribute N is 3 but there are 2 values"),
            std::string::npos);
  EXPECT_NE(run_op_error("ConcatV2", {a(), ints({2, 2}, {1, 2, 3, 4}), ints({}, {0})}, n_attr(2))
                .find("input 1 is int32, but attribute T says float32"),
            std::string::npos);
  EXPECT_NE(
      run_op_error("ConcatV2", {Tensor::scalar_float(1), Tensor::scalar_float(2), ints({}, {0})},
                   n_attr(2))
          .find("scalars cannot be concatenated"),
      std::string::npos);
  EXPECT_NE(run_op_error("ConcatV2", {a(), b(), floats({}, {1})}, n_attr(2))
                .find("input 2 is float32, but attribute Tidx says int32"),
            std::string::npos);
  EXPECT_NE(run_op_error("Concat", {int64s({}, {1}), a(), b()}, concat_attr(2))
                .find("input 0 is int64, Concat takes int32 there"),
            std::string::npos);
  EXPECT_NE(run_op_error("ConcatV2", {a(), b(), ints({2}, {1, 1})}, n_attr(2))
                .find("axis must be a scalar"),
            std::string::npos);
}

}  // namespace
}  // namespace poet::testing
