// MatMul: every transpose combination on an odd-sized product, shape errors, flops, and the
// oneDNN and native (SIMD) backends on a constant right-hand side.
#include <gtest/gtest.h>

#include "engine/error.h"
#include "kernels/ref/matmul.h"
#include "kernels/x86/cpu_features.h"
#include "tests/kernel_test_util.h"
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
      "MatMul", {fed_input(DType::kFloat32, Shape{5, 3}), fed_input(DType::kFloat32, Shape{7, 3})},
      mm(false, true));
  EXPECT_EQ(exe.steps()[0].flops, 2 * 5 * 7 * 3);
}

TEST(MatMul, OneDnnOnAConstantRightHandSide) {
  // The retrained final layer's shape on oneDNN's inner product, with b constant, for both
  // layouts of b; a transposed a and a fed b fall back to the reference, which must agree.
  for (bool tb : {false, true}) {
    SCOPED_TRACE(tb);
    Tensor a = floats({2, 3}, kA);
    Tensor b = tb ? floats({4, 3}, kBt) : floats({3, 4}, kB);
    Executable exe = load_op("MatMul", {fed_input(DType::kFloat32, a.shape()), constant_input(b)},
                             mm(false, tb), 1, Backend::kOneDnn);
    EXPECT_EQ(floats(exe.run(std::span(&a, 1))[0]), kProduct);
    Executable fed = load_op(
        "MatMul", {fed_input(DType::kFloat32, a.shape()), fed_input(DType::kFloat32, b.shape())},
        mm(false, tb), 1, Backend::kOneDnn);
    Tensor both[] = {a, b};
    EXPECT_EQ(floats(fed.run(both)[0]), kProduct);
  }
  Tensor at = floats({3, 2}, kAt);
  EXPECT_EQ(floats(run_op1("MatMul", {at, floats({3, 4}, kB)}, mm(true, false), Backend::kOneDnn)),
            kProduct);
}

// The native backend runs a constant b as a packed 1x1 convolution: every ISA, both layouts
// of b, odd sizes (not multiples of a vector) and the retrained final layer's shapes, against
// the reference kernel.
TEST(MatMul, NativeOnAConstantRightHandSideOnEveryIsa) {
  struct Size {
    int64_t m, k, n;
  };
  for (Size z : {Size{1, 2048, 1001}, {32, 2048, 5}, {3, 7, 5}, {1, 1, 1}, {17, 3, 33}}) {
    for (bool tb : {false, true}) {
      SCOPED_TRACE(str_cat(z.m, "x", z.k, "x", z.n, tb ? " transposed" : ""));
      Tensor a = floats({z.m, z.k}, random_floats(z.m * z.k, 41));
      Tensor b = floats(tb ? Shape{z.n, z.k} : Shape{z.k, z.n}, random_floats(z.k * z.n, 42));
      std::vector<float> want(z.m * z.n);
      kernels::ref::matmul(a.data<float>(), b.data<float>(), z.m, z.n, z.k, false, tb, want);
      for (kernels::x86::Isa isa : simd_isas()) {
        SCOPED_TRACE(kernels::x86::isa_name(isa));
        kernels::x86::force_isa(isa);
        Executable exe =
            load_op("MatMul", {fed_input(DType::kFloat32, a.shape()), constant_input(b)},
                    mm(false, tb), 1, Backend::kNative);
        expect_close(floats(exe.run(std::span(&a, 1))[0]), want, 2e-6f * z.k);
      }
      kernels::x86::force_isa(std::nullopt);
    }
  }
}

}  // namespace
}  // namespace poet::testing
