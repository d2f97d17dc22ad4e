// Add, AddV2, Sub, Mul, RealDiv, Maximum, Minimum: broadcasting, dtypes, errors, inference.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tests/expect_error.h"
#include "tests/op_test_util.h"

namespace poet::testing {
namespace {

TEST(BinaryElementwise, EachFloatOpOnEqualShapes) {
  Tensor a = floats({2, 3}, {1, -2, 3, 4, 5, -6});
  Tensor b = floats({2, 3}, {2, 2, -1, 8, 0.5f, 3});
  EXPECT_EQ(floats(run_op1("Add", {a, b})), (std::vector<float>{3, 0, 2, 12, 5.5f, -3}));
  EXPECT_EQ(floats(run_op1("AddV2", {a, b})), (std::vector<float>{3, 0, 2, 12, 5.5f, -3}));
  EXPECT_EQ(floats(run_op1("Sub", {a, b})), (std::vector<float>{-1, -4, 4, -4, 4.5f, -9}));
  EXPECT_EQ(floats(run_op1("Mul", {a, b})), (std::vector<float>{2, -4, -3, 32, 2.5f, -18}));
  EXPECT_EQ(floats(run_op1("RealDiv", {a, b})), (std::vector<float>{0.5f, -1, -3, 0.5f, 10, -2}));
  EXPECT_EQ(floats(run_op1("Maximum", {a, b})), (std::vector<float>{2, 2, 3, 8, 5, 3}));
  EXPECT_EQ(floats(run_op1("Minimum", {a, b})), (std::vector<float>{1, -2, -1, 4, 0.5f, -6}));
}

TEST(BinaryElementwise, BroadcastsBothWays) {
  // [2,1,3] with [4,1] gives [2,4,3]: out[i,j,k] = a[i,0,k] + b[j,0].
  Tensor a = floats({2, 1, 3}, {0, 1, 2, 10, 11, 12});
  Tensor b = floats({4, 1}, {100, 200, 300, 400});
  Tensor out = run_op1("Add", {a, b});
  ASSERT_EQ(out.shape(), (Shape{2, 4, 3}));
  std::vector<float> want;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 3; ++k) want.push_back(10.f * i + k + 100.f * (j + 1));
  EXPECT_EQ(floats(out), want);
  // Operand order matters for Sub: b - a broadcasts the same way.
  Tensor diff = run_op1("Sub", {b, a});
  ASSERT_EQ(diff.shape(), (Shape{2, 4, 3}));
  EXPECT_EQ(floats(diff)[5], 200.f - 2);    // i=0, j=1, k=2
  EXPECT_EQ(floats(diff)[23], 400.f - 12);  // i=1, j=3, k=2
}

TEST(BinaryElementwise, ScalarWithTensorOnEitherSide) {
  Tensor s = Tensor::scalar_float(10);
  Tensor t = floats({3}, {1, 2, 4});
  EXPECT_EQ(floats(run_op1("Sub", {s, t})), (std::vector<float>{9, 8, 6}));
  EXPECT_EQ(floats(run_op1("Sub", {t, s})), (std::vector<float>{-9, -8, -6}));
  EXPECT_EQ(floats(run_op1("RealDiv", {t, s})), (std::vector<float>{0.1f, 0.2f, 0.4f}));
  EXPECT_EQ(run_op1("Mul", {s, s}).shape(), Shape{});
}

TEST(BinaryElementwise, RankMismatchAlignsTrailingAxes) {
  // [3] against [2,3]: the vector repeats along the new leading axis (a bias).
  Tensor out = run_op1("Mul", {floats({3}, {1, 10, 100}), floats({2, 3}, {1, 2, 3, 4, 5, 6})});
  ASSERT_EQ(out.shape(), (Shape{2, 3}));
  EXPECT_EQ(floats(out), (std::vector<float>{1, 20, 300, 4, 50, 600}));
  // [1,1,1,2] against [5,2] (odd sizes, both sides broadcast on some axis).
  Tensor big = run_op1("Maximum", {floats({1, 1, 1, 2}, {2, -2}), floats({5, 1}, {0, 1, 2, 3, 4})});
  ASSERT_EQ(big.shape(), (Shape{1, 1, 5, 2}));
  EXPECT_EQ(floats(big), (std::vector<float>{2, 0, 2, 1, 2, 2, 3, 3, 4, 4}));
}

TEST(BinaryElementwise, EmptyTensorsBroadcast) {
  Tensor out = run_op1("Add", {Tensor(DType::kFloat32, {0, 3}), floats({3}, {1, 2, 3})});
  EXPECT_EQ(out.shape(), (Shape{0, 3}));
}

TEST(BinaryElementwise, MaximumAndMinimumPropagateNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor a = floats({3}, {nan, 1, 2});
  Tensor b = floats({3}, {1, nan, 3});
  for (const char* op : {"Maximum", "Minimum"}) {
    std::vector<float> out = floats(run_op1(op, {a, b}));
    EXPECT_TRUE(std::isnan(out[0])) << op;
    EXPECT_TRUE(std::isnan(out[1])) << op;
    EXPECT_EQ(out[2], op == std::string("Maximum") ? 3.f : 2.f);
  }
}

TEST(BinaryElementwise, DivisionByZeroFollowsIEEE) {
  std::vector<float> out = floats(run_op1("RealDiv", {floats({3}, {1, -1, 0}), floats({1}, {0})}));
  EXPECT_EQ(out[0], std::numeric_limits<float>::infinity());
  EXPECT_EQ(out[1], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(out[2]));
}

TEST(BinaryElementwise, Int32ShapeArithmeticWraps) {
  const int32_t max = std::numeric_limits<int32_t>::max();
  const int32_t min = std::numeric_limits<int32_t>::min();
  auto data = [](const Tensor& t) {
    auto d = t.data<int32_t>();
    return std::vector<int32_t>(d.begin(), d.end());
  };
  Tensor a = ints({3}, {max, 7, -4});
  Tensor b = ints({}, {2});
  EXPECT_EQ(data(run_op1("Add", {a, b})), (std::vector<int32_t>{min + 1, 9, -2}));
  EXPECT_EQ(data(run_op1("AddV2", {b, a})), (std::vector<int32_t>{min + 1, 9, -2}));
  EXPECT_EQ(data(run_op1("Sub", {ints({1}, {min}), b})), (std::vector<int32_t>{max - 1}));
  EXPECT_EQ(data(run_op1("Mul", {a, b})), (std::vector<int32_t>{-2, 14, -8}));
  EXPECT_EQ(data(run_op1("Maximum", {a, b})), (std::vector<int32_t>{max, 7, 2}));
  EXPECT_EQ(data(run_op1("Minimum", {a, b})), (std::vector<int32_t>{2, 2, -4}));
  EXPECT_EQ(run_op1("Mul", {a, b}).dtype(), DType::kInt32);
}

TEST(BinaryElementwise, RejectsBadTypesAndShapes) {
  std::string e =
      run_op_error("Add", {floats({2, 3}, {1, 2, 3, 4, 5, 6}), floats({4}, {1, 2, 3, 4})});
  EXPECT_NE(e.find("[2,3]"), std::string::npos) << e;
  EXPECT_NE(e.find("[4]"), std::string::npos) << e;
  EXPECT_NE(e.find("incompatible"), std::string::npos) << e;
  EXPECT_NE(e.find("node 'op' (Add)"), std::string::npos) << e;

  e = run_op_error("RealDiv", {ints({1}, {4}), ints({1}, {2})});
  EXPECT_NE(e.find("int32"), std::string::npos) << e;
  e = run_op_error("Mul", {floats({1}, {4}), ints({1}, {2})});
  EXPECT_NE(e.find("input 1 is int32 and input 0 float32, but Mul takes both of type T"),
            std::string::npos)
      << e;
  e = run_op_error("Sub", {Tensor(DType::kInt64, {1}), Tensor(DType::kInt64, {1})});
  EXPECT_NE(e.find("int64"), std::string::npos) << e;
}

TEST(BinaryElementwise, InfersPartialShapesAtLoad) {
  const DType f = DType::kFloat32;
  auto infer = [&](PartialShape a, PartialShape b) {
    return infer_op("Add", {fed_input(f, a), fed_input(f, b)}).shape.str();
  };
  EXPECT_EQ(infer(Shape{-1, 3}, Shape{4, 1}), "[4,3]");
  EXPECT_EQ(infer(Shape{-1, 1}, Shape{-1}), "[?,?]");
  EXPECT_EQ(infer(Shape{1, 5}, Shape{-1, -1}), "[?,5]");
  EXPECT_EQ(infer(Shape{-1, 224, 224, 3}, Shape{3}), "[?,224,224,3]");
  EXPECT_FALSE(infer_op("Add", {fed_input(f, PartialShape::unknown()), fed_input(f, Shape{3})})
                   .shape.known_rank);
  // Known dimensions that disagree fail at load, naming both shapes.
  expect_error([&] { infer(Shape{2, -1}, Shape{3, 5}); }, "[2,?] and [3,5]");
}

TEST(BinaryElementwise, UnknownDimensionCheckedAgainAtRunTime) {
  Tensor three = floats({3}, {1, 2, 3});
  Executable exe = load_op(
      "Add", {fed_input(DType::kFloat32, Shape{-1}), TensorInfo{DType::kFloat32, Shape{3}, three}});
  EXPECT_EQ(exe.fetch_info(0).shape.str(), "[3]");
  EXPECT_EQ(floats(exe.run(std::vector<Tensor>{floats({1}, {10})})[0]),
            (std::vector<float>{11, 12, 13}));
  expect_error([&] { exe.run(std::vector<Tensor>{floats({2}, {1, 2})}); }, "[2] and [3]");
}

TEST(BinaryElementwise, CountsOneFlopPerOutputElement) {
  Executable exe = load_op(
      "Mul", {fed_input(DType::kFloat32, Shape{2, 1, 3}), fed_input(DType::kFloat32, Shape{4, 1})});
  ASSERT_EQ(exe.steps().size(), 1u);
  EXPECT_EQ(exe.steps()[0].flops, 2 * 4 * 3);
}

}  // namespace
}  // namespace poet::testing
