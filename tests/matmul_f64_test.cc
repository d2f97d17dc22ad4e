// The double-precision product of the new layer's training (kernels/x86/matmul_f64.h) against
// its reference, bit for bit, on every ISA this machine can run: row and column counts around
// the tiles' sizes, A read as stored and as a transpose, sums that start from C's values, and
// columns of C beyond n that must stay untouched.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "engine/error.h"
#include "engine/thread_pool.h"
#include "kernels/ref/matmul_f64.h"
#include "kernels/x86/matmul_f64.h"
#include "tests/kernel_test_util.h"

namespace poet::testing {
namespace {

namespace x86 = kernels::x86;
using kernels::ref::MatmulF64Shape;

std::vector<double> random_doubles(int64_t n, uint32_t seed) {
  std::vector<float> f = random_floats(n, seed), g = random_floats(n, seed + 1);
  std::vector<double> d(n);
  // Products of two floats use all 53 bits, so every product and add rounds.
  for (int64_t i = 0; i < n; ++i) d[i] = double{f[i]} * g[i];
  return d;
}

// Bit for bit: the same sums in the same order.
void expect_same_bits(std::span<const double> got, std::span<const double> want) {
  ASSERT_EQ(got.size(), want.size());
  int reported = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (std::memcmp(&got[i], &want[i], sizeof(double)) != 0 && reported++ < 5)
      ADD_FAILURE() << "element " << i << ": got " << got[i] << ", want " << want[i];
}

void check(int64_t m, int64_t n, int64_t k, bool a_transposed, ThreadPool* pool) {
  SCOPED_TRACE(str_cat("m ", m, " n ", n, " k ", k, a_transposed ? ", A transposed" : ""));
  const int64_t ldc = n + 3;  // columns n..n+2 of each row must stay as they are
  MatmulF64Shape s{.m = m,
                   .n = n,
                   .k = k,
                   .a_row = a_transposed ? 1 : k,
                   .a_col = a_transposed ? m : 1,
                   .ldb = n,
                   .ldc = ldc};
  const std::vector<float> a = random_floats(m * k, static_cast<uint32_t>(m * 131 + k));
  const std::vector<double> b = random_doubles(k * n, static_cast<uint32_t>(n * 17 + k));
  const std::vector<double> c0 = random_doubles(m * ldc, static_cast<uint32_t>(m + n));
  std::vector<double> want = c0;
  kernels::ref::matmul_f64(s, a, b, want);
  for (x86::Isa isa : simd_isas()) {
    SCOPED_TRACE(x86::isa_name(isa));
    std::vector<double> got = c0;
    x86::matmul_f64(isa, s, a, b, got, pool);
    expect_same_bits(got, want);
  }
}

TEST(MatmulF64, ShapesAroundTheTiles) {
  for (int64_t m : {1, 3, 4, 5, 8, 9, 17})
    for (int64_t n : {1, 3, 4, 5, 8, 9, 15, 16, 17, 23, 24, 25, 33})
      for (bool transposed : {false, true}) check(m, n, 7, transposed, nullptr);
}

TEST(MatmulF64, TheNewLayersShapesOnThreads) {
  ThreadPool pool(2);
  check(100, 24, 1001, false, &pool);  // x W + b, 22 classes padded to 24
  check(1001, 24, 100, true, &pool);   // x^T (p - y)
  check(100, 104, 2048, false, &pool);
}

TEST(MatmulF64, NoStepsLeavesC) { check(5, 9, 0, false, nullptr); }

TEST(MatmulF64, TheReferenceMultipliesThenAdds) {
  // A product that needs more than a double's 53 bits: rounded, then added to minus its
  // rounded value, it gives 0; fused, it would give the rounding error.
  const float a = 1.f + 0x1p-23f;
  const double b = 1.0 + 0x1p-30 + 0x1p-52;
  const double rounded = double{a} * b;
  std::vector<double> c{-rounded};
  kernels::ref::matmul_f64({.m = 1, .n = 1, .k = 1, .a_row = 1, .a_col = 1, .ldb = 1, .ldc = 1},
                           std::span<const float>(&a, 1), std::span<const double>(&b, 1), c);
  EXPECT_EQ(c[0], 0.0);
  EXPECT_NE(std::fma(double{a}, b, -rounded), 0.0);  // the case is one that fusing would change
}

TEST(MatmulF64, RejectsShortOperands) {
  std::vector<float> a(5);
  std::vector<double> b(6), c(6);
  const MatmulF64Shape s{.m = 2, .n = 3, .k = 3, .a_row = 3, .a_col = 1, .ldb = 3, .ldc = 3};
  for (x86::Isa isa : x86::available_isas())
    EXPECT_THROW(x86::matmul_f64(isa, s, a, b, c, nullptr), Error) << x86::isa_name(isa);
}

}  // namespace
}  // namespace poet::testing
