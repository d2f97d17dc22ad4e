// Reshape, ExpandDims, Squeeze and Shape: results, shared storage, load-time inference with
// unknown batch sizes, and error messages.
#include <gtest/gtest.h>

#include "tests/op_test_util.h"

namespace poet::testing {
namespace {

Tensor six() { return floats({2, 3}, {1, 2, 3, 4, 5, 6}); }

std::vector<Tensor> feed(Tensor t) { return {std::move(t)}; }

// ---- Reshape ----

TEST(Reshape, InfersTheMinusOneDimension) {
  Tensor out = run_op1("Reshape", {six(), ints({2}, {3, -1})});
  EXPECT_EQ(out.shape(), (Shape{3, 2}));
  EXPECT_EQ(floats(out), floats(six()));
  EXPECT_EQ(run_op1("Reshape", {six(), int64s({1}, {-1})}).shape(), (Shape{6}));
  EXPECT_EQ(run_op1("Reshape", {six(), int64s({3}, {1, 6, 1})}).shape(), (Shape{1, 6, 1}));
}

TEST(Reshape, ToAndFromScalars) {
  EXPECT_EQ(run_op1("Reshape", {floats({1, 1}, {7}), ints({0}, {})}).shape(), Shape{});
  EXPECT_EQ(run_op1("Reshape", {Tensor::scalar_float(7), ints({1}, {-1})}).shape(), Shape{1});
}

TEST(Reshape, WorksForIntegerTensors) {
  Tensor out = run_op1("Reshape", {ints({4}, {1, 2, 3, 4}), ints({2}, {2, 2})});
  EXPECT_EQ(out.shape(), (Shape{2, 2}));
  EXPECT_EQ(out.data<int32_t>()[3], 4);
}

TEST(Reshape, SharesTheInputStorage) {
  Executable exe = load_op(
      "Reshape", {fed_input(DType::kFloat32, Shape{2, 3}), constant_input(ints({1}, {-1}))});
  Tensor in = six();
  Tensor out = exe.run(feed(in))[0];
  EXPECT_EQ(out.data<float>().data(), in.data<float>().data());
}

TEST(Reshape, MinusOneStaysUnknownWithAnUnknownBatch) {
  Executable exe = load_op("Reshape", {fed_input(DType::kFloat32, Shape{-1, 1, 1, 1001}),
                                       constant_input(ints({2}, {-1, 1001}))});
  EXPECT_EQ(exe.fetch_info(0).shape.str(), "[?,1001]");
  EXPECT_EQ(exe.run(feed(Tensor(DType::kFloat32, {3, 1, 1, 1001})))[0].shape(), (Shape{3, 1001}));
}

TEST(Reshape, FixedShapeIsKnownDespiteAnUnknownBatch) {
  Executable exe = load_op("Reshape", {fed_input(DType::kFloat32, Shape{-1, 1, 1, 1001}),
                                       constant_input(ints({2}, {1, 1001}))});
  EXPECT_EQ(exe.fetch_info(0).shape.str(), "[1,1001]");
  EXPECT_EQ(exe.run(feed(Tensor(DType::kFloat32, {1, 1, 1, 1001})))[0].shape(), (Shape{1, 1001}));
  // As in TensorFlow, a batch of 2 cannot become [1,1001].
  EXPECT_THROW(exe.run(feed(Tensor(DType::kFloat32, {2, 1, 1, 1001}))), Error);
}

TEST(Reshape, ShapeNotKnownAtLoadGivesItsLength) {
  Executable exe = load_op(
      "Reshape", {fed_input(DType::kFloat32, Shape{2, 3}), fed_input(DType::kInt32, Shape{3})});
  EXPECT_EQ(exe.fetch_info(0).shape.str(), "[?,?,?]");
  std::vector<Tensor> feeds = {six(), ints({3}, {3, 1, 2})};
  EXPECT_EQ(exe.run(feeds)[0].shape(), (Shape{3, 1, 2}));
}

TEST(Reshape, RejectsImpossibleShapes) {
  EXPECT_NE(run_op_error("Reshape", {six(), ints({2}, {4, 2})})
                .find("cannot reshape a tensor of 6 elements [2,3] to [4,2] (8 elements)"),
            std::string::npos);
  EXPECT_NE(run_op_error("Reshape", {six(), ints({2}, {4, -1})}).find("not a multiple of 4"),
            std::string::npos);
  EXPECT_NE(run_op_error("Reshape", {six(), ints({2}, {0, -1})}).find("not a multiple of 0"),
            std::string::npos);
  EXPECT_NE(run_op_error("Reshape", {six(), ints({3}, {-1, 2, -1})}).find("more than one -1"),
            std::string::npos);
  EXPECT_NE(run_op_error("Reshape", {six(), ints({2}, {-2, -3})}).find("negative dimension -2"),
            std::string::npos);
  EXPECT_NE(run_op_error("Reshape", {six(), floats({1}, {6})}).find("expected int32 or int64"),
            std::string::npos);
  EXPECT_NE(run_op_error("Reshape", {six(), ints({1, 2}, {3, 2})}).find("expected rank 1"),
            std::string::npos);
}

// ---- ExpandDims ----

TEST(ExpandDims, InsertsAOneAtAnyPosition) {
  EXPECT_EQ(run_op1("ExpandDims", {six(), ints({}, {0})}).shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(run_op1("ExpandDims", {six(), ints({}, {1})}).shape(), (Shape{2, 1, 3}));
  EXPECT_EQ(run_op1("ExpandDims", {six(), ints({}, {2})}).shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(run_op1("ExpandDims", {six(), ints({}, {-1})}).shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(run_op1("ExpandDims", {six(), int64s({1}, {-3})}).shape(), (Shape{1, 2, 3}));
  Tensor out = run_op1("ExpandDims", {six(), ints({}, {0})});
  EXPECT_EQ(floats(out), floats(six()));
}

TEST(ExpandDims, KeepsAnUnknownBatch) {
  Executable exe = load_op(
      "ExpandDims", {fed_input(DType::kFloat32, Shape{-1, 3}), constant_input(ints({}, {-1}))});
  EXPECT_EQ(exe.fetch_info(0).shape.str(), "[?,3,1]");
}

TEST(ExpandDims, RejectsOutOfRangeDims) {
  EXPECT_NE(
      run_op_error("ExpandDims", {six(), ints({}, {3})}).find("dim 3 is out of range for rank 3"),
      std::string::npos);
  EXPECT_NE(run_op_error("ExpandDims", {six(), ints({}, {-4})}).find("dim -4 is out of range"),
            std::string::npos);
  EXPECT_NE(run_op_error("ExpandDims", {six(), ints({2}, {0, 1})}).find("single value"),
            std::string::npos);
}

// ---- Squeeze ----

TEST(Squeeze, EmptyListRemovesEverySizeOneDimension) {
  Tensor in = floats({1, 2, 1, 3, 1}, {1, 2, 3, 4, 5, 6});
  Tensor out = run_op1("Squeeze", {in}, {{"squeeze_dims", std::vector<int64_t>{}}});
  EXPECT_EQ(out.shape(), (Shape{2, 3}));
  EXPECT_EQ(floats(out), floats(in));
  EXPECT_EQ(run_op1("Squeeze", {in}).shape(), (Shape{2, 3}));
}

TEST(Squeeze, ListedDimensionsOnlyNegativeAllowed) {
  Tensor in = floats({1, 2, 1, 3, 1}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(run_op1("Squeeze", {in}, {{"squeeze_dims", std::vector<int64_t>{2}}}).shape(),
            (Shape{1, 2, 3, 1}));
  EXPECT_EQ(run_op1("Squeeze", {in}, {{"squeeze_dims", std::vector<int64_t>{0, -1}}}).shape(),
            (Shape{2, 1, 3}));
}

TEST(Squeeze, UnknownBatchAtLoad) {
  Executable listed = load_op("Squeeze", {fed_input(DType::kFloat32, Shape{-1, 1, 1, 5})},
                              {{"squeeze_dims", std::vector<int64_t>{1, 2}}});
  EXPECT_EQ(listed.fetch_info(0).shape.str(), "[?,5]");
  EXPECT_EQ(listed.run(feed(Tensor(DType::kFloat32, {4, 1, 1, 5})))[0].shape(), (Shape{4, 5}));
  // Whether the batch goes too depends on its size, so the rank is unknown until run time.
  Executable all = load_op("Squeeze", {fed_input(DType::kFloat32, Shape{-1, 1, 1, 5})});
  EXPECT_FALSE(all.fetch_info(0).shape.known_rank);
  EXPECT_EQ(all.run(feed(Tensor(DType::kFloat32, {1, 1, 1, 5})))[0].shape(), (Shape{5}));
}

TEST(Squeeze, RejectsDimensionsThatAreNotOne) {
  EXPECT_NE(run_op_error("Squeeze", {six()}, {{"squeeze_dims", std::vector<int64_t>{1}}})
                .find("cannot squeeze dimension 1 of [2,3]: its size is 3, not 1"),
            std::string::npos);
  EXPECT_NE(run_op_error("Squeeze", {six()}, {{"squeeze_dims", std::vector<int64_t>{2}}})
                .find("squeeze_dims[0] 2 is out of range for rank 2"),
            std::string::npos);
  // A listed dimension unknown at load is checked when the batch arrives.
  Executable exe = load_op("Squeeze", {fed_input(DType::kFloat32, Shape{-1, 5})},
                           {{"squeeze_dims", std::vector<int64_t>{0}}});
  EXPECT_THROW(exe.run(feed(Tensor(DType::kFloat32, {2, 5}))), Error);
}

// ---- Shape ----

TEST(Shape, ReturnsTheShapeAsInt32OrInt64) {
  Tensor s32 = run_op1("Shape", {floats({2, 1, 3}, {1, 2, 3, 4, 5, 6})});
  EXPECT_EQ(s32.dtype(), DType::kInt32);
  EXPECT_EQ(s32.shape(), Shape{3});
  EXPECT_EQ(std::vector<int32_t>(s32.data<int32_t>().begin(), s32.data<int32_t>().end()),
            (std::vector<int32_t>{2, 1, 3}));
  Tensor s64 = run_op1("Shape", {six()}, {{"out_type", DType::kInt64}});
  EXPECT_EQ(s64.dtype(), DType::kInt64);
  EXPECT_EQ(s64.data<int64_t>()[1], 3);
  EXPECT_EQ(run_op1("Shape", {Tensor::scalar_float(1)}).shape(), Shape{0});
}

TEST(Shape, IsAConstantAtLoadWhenTheShapeIsKnown) {
  Executable exe = load_op("Shape", {fed_input(DType::kFloat32, Shape{1, 224, 224, 3})});
  ASSERT_TRUE(exe.fetch_info(0).value.has_value());
  EXPECT_EQ(exe.fetch_info(0).value->data<int32_t>()[1], 224);
  EXPECT_TRUE(exe.steps().empty());
}

TEST(Shape, IsComputedAtRunTimeForAnUnknownBatch) {
  Executable exe = load_op("Shape", {fed_input(DType::kFloat32, Shape{-1, 4, 3})});
  EXPECT_FALSE(exe.fetch_info(0).value.has_value());
  EXPECT_EQ(exe.fetch_info(0).shape.str(), "[3]");
  Tensor out = exe.run(feed(Tensor(DType::kFloat32, {5, 4, 3})))[0];
  EXPECT_EQ(out.data<int32_t>()[0], 5);
  Executable unknown = load_op("Shape", {fed_input(DType::kFloat32, PartialShape::unknown())});
  EXPECT_EQ(unknown.fetch_info(0).shape.str(), "[?]");
}

TEST(Shape, RejectsOtherOutTypes) {
  EXPECT_NE(run_op_error("Shape", {six()}, {{"out_type", DType::kFloat32}})
                .find("out_type float32 is not int32 or int64"),
            std::string::npos);
}

}  // namespace
}  // namespace poet::testing
