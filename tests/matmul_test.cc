// MatMul: every transpose combination on an odd-sized product, shape errors, flops.
#include <gtest/gtest.h>

#include "tests/op_test_util.h"

namespace poet::testing {
namespace {

std::map<std::string, AttrValue> mm(bool ta, bool tb) {
  return {{"transpose_a", ta}, {"transpose_b", tb}, {"T", DType::kFloat32}};
}

// A = [[1,2,3],[4,5,6]] (2x3), B = [[1,0,2,1],[0,1,1,-1],[2,1,0,3]] (3x4);
// A*B = [[7,5,4,8],[16,11,13,17]].
const std::vector<float> kA{1, 2, 3, 4, 5, 6};
const std::vector<float> kAt{1, 4, 2, 5, 3, 6};
const std::vector<float> kB{1, 0, 2, 1, 0, 1, 1, -1, 2, 1, 0, 3};
const std::vector<float> kBt{1, 0, 2, 0, 1, 1, 2, 1, 0, 1, -1, 3};
const std::vector<float> kProduct{7, 5, 4, 8, 16, 11, 13, 17};

TEST(MatMul, EveryTransposeCombination) {
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      Tensor a = ta ? floats({3, 2}, kAt) : floats({2, 3}, kA);
      Tensor b = tb ? floats({4, 3}, kBt) : floats({3, 4}, kB);
      Tensor c = run_op1("MatMul", {a, b}, mm(ta, tb));
      EXPECT_EQ(c.shape(), (Shape{2, 4})) << ta << tb;
      EXPECT_EQ(floats(c), kProduct) << ta << tb;
    }
  }
}

TEST(MatMul, VectorTimesMatrixAndEmptyInner) {
  // The retrained final layer: [1,K] bottleneck times [K,classes].
  EXPECT_EQ(floats(run_op1("MatMul", {floats({1, 3}, {1, 1, 1}), floats({3, 4}, kB)})),
            (std::vector<float>{3, 2, 3, 3}));
  EXPECT_EQ(
      floats(run_op1("MatMul", {Tensor(DType::kFloat32, {2, 0}), Tensor(DType::kFloat32, {0, 1})})),
      (std::vector<float>{0, 0}));
}

TEST(MatMul, RejectsIncompatibleShapes) {
  std::string e = run_op_error("MatMul", {floats({2, 3}, kA), floats({2, 3}, kA)});
  EXPECT_NE(e.find("a [2,3] has 3 columns but b [2,3] has 2 rows"), std::string::npos) << e;
  e = run_op_error("MatMul", {floats({2, 3}, kA), floats({3, 4}, kB)}, mm(true, false));
  EXPECT_NE(e.find("a [2,3] (transposed) has 2 columns but b [3,4] has 3 rows"), std::string::npos)
      << e;
  e = run_op_error("MatMul", {floats({2, 3}, kA), floats({3, 4}, kB)}, mm(false, true));
  EXPECT_NE(e.find("b [3,4] (transposed) has 4 rows"), std::string::npos) << e;
  e = run_op_error("MatMul", {floats({6}, kA), floats({2, 3}, kA)});
  EXPECT_NE(e.find("expected rank 2"), std::string::npos) << e;
}

TEST(MatMul, InfersShapesAndCountsFlops) {
  EXPECT_EQ(infer_op("MatMul",
                     {fed_input(DType::kFloat32, Shape{-1, 1024}),
                      fed_input(DType::kFloat32, Shape{6, 1024})},
                     mm(false, true))
                .shape.str(),
            "[?,6]");
  Executable exe = load_op(
      "MatMul",
      {fed_input(DType::kFloat32, Shape{5, 3}), fed_input(DType::kFloat32, Shape{7, 3})},
      mm(false, true));
  EXPECT_EQ(exe.steps()[0].flops, 2 * 5 * 7 * 3);
}

}  // namespace
}  // namespace poet::testing
