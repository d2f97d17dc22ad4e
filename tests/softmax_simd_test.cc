// The x86 SIMD Softmax against the reference, for every ISA this machine can run: row lengths
// around the vector widths and the classifier sizes, logits spread wide enough that exp
// underflows, and the op on the native backend.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/error.h"
#include "engine/thread_pool.h"
#include "kernels/ref/softmax.h"
#include "kernels/x86/softmax.h"
#include "tests/kernel_test_util.h"
#include "tests/op_test_util.h"

namespace poet::testing {
namespace {

namespace x86 = kernels::x86;

// Each probability within 2e-6 of its own size: the polynomial exp is good to a few ulp and
// the sum runs in float lanes. Probabilities below 1e-30 are compared absolutely (the fast exp
// stops at 2^-126 where the reference goes subnormal).
void expect_probabilities_close(std::span<const float> got, std::span<const float> want) {
  ASSERT_EQ(got.size(), want.size());
  int reported = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const float allowed = want[i] < 1e-30f ? 1e-30f : 2e-6f * want[i];
    if (!(std::fabs(got[i] - want[i]) <= allowed) && reported++ < 5)
      ADD_FAILURE() << "element " << i << ": got " << got[i] << ", want " << want[i];
  }
}

void check_against_reference(int64_t rows, int64_t classes, float spread, ThreadPool* pool) {
  SCOPED_TRACE(str_cat(rows, " rows of ", classes, ", logits within +-", spread));
  auto logits = random_floats(rows * classes, static_cast<uint32_t>(classes), -spread, spread);
  std::vector<float> want(logits.size());
  kernels::ref::softmax(logits, classes, want);
  for (x86::Isa isa : simd_isas()) {
    SCOPED_TRACE(x86::isa_name(isa));
    std::vector<float> got(logits.size(), NAN);
    x86::softmax(isa, logits, classes, got, pool);
    expect_probabilities_close(got, want);
  }
}

TEST(SoftmaxSimd, RowLengthsAroundTheVectorWidths) {
  for (int64_t classes : {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100})
    for (int64_t rows : {1, 3}) check_against_reference(rows, classes, 5.f, nullptr);
}

TEST(SoftmaxSimd, ClassifierSizesOnThreads) {
  ThreadPool pool(2);
  for (int64_t classes : {5, 1001, 1008}) check_against_reference(32, classes, 10.f, &pool);
}

TEST(SoftmaxSimd, LogitsFarApartUnderflowToZero) {
  // Differences of up to 400: most exponentials underflow, the row still sums to one.
  check_against_reference(4, 37, 200.f, nullptr);
  std::vector<float> logits{0.f, -100.f, -1000.f, 50.f}, got(4);
  for (x86::Isa isa : simd_isas()) {
    x86::softmax(isa, logits, 4, got, nullptr);
    EXPECT_FLOAT_EQ(got[3], 1.f) << x86::isa_name(isa);
    EXPECT_LT(got[0], 1e-21f) << x86::isa_name(isa);
    // As the reference: exactly 0, not the smallest normal float.
    EXPECT_EQ(got[2], 0.f) << x86::isa_name(isa);
  }
}

// A NaN logit, or +inf (inf - inf), makes its whole row NaN, as in the reference and
// TensorFlow; the other rows are untouched. Rows of 37: two whole AVX-512 vectors (four AVX2)
// and a 5-lane tail; and the tester's row of 3, all tail.
TEST(SoftmaxSimd, NanOrInfinityMakesTheRowNan) {
  constexpr int64_t kClasses = 37;
  auto logits = random_floats(5 * kClasses, 8, -4.f, 4.f);
  logits[0 * kClasses + 3] = NAN;        // vector body
  logits[1 * kClasses + 35] = NAN;       // tail
  logits[2 * kClasses + 5] = INFINITY;   // vector body
  logits[3 * kClasses + 36] = INFINITY;  // tail
  // Row 4 stays finite.
  std::vector<float> want(logits.size());
  kernels::ref::softmax(logits, kClasses, want);
  auto check = [&](std::span<const float> got) {
    for (int64_t r = 0; r < 4; ++r)
      for (int64_t c = 0; c < kClasses; ++c)
        EXPECT_TRUE(std::isnan(got[r * kClasses + c])) << "row " << r << " class " << c;
    expect_probabilities_close(got.subspan(4 * kClasses), std::span(want).subspan(4 * kClasses));
  };
  {
    SCOPED_TRACE("reference");
    check(want);
  }
  const std::vector<float> short_row{NAN, 0.f, 1.f};
  for (x86::Isa isa : simd_isas()) {
    SCOPED_TRACE(x86::isa_name(isa));
    std::vector<float> got(logits.size(), 0.5f);
    x86::softmax(isa, logits, kClasses, got, nullptr);
    check(got);
    std::vector<float> three(3, 0.5f);
    x86::softmax(isa, short_row, 3, three, nullptr);
    for (float p : three) EXPECT_TRUE(std::isnan(p)) << p;
    x86::force_isa(isa);
    check(floats(run_op1("Softmax", {floats({5, kClasses}, logits)}, {}, Backend::kNative)));
  }
  x86::force_isa(std::nullopt);
}

TEST(SoftmaxSimd, RejectsPartialRows) {
  std::vector<float> logits(10), out(10);
  EXPECT_THROW(x86::softmax(x86::Isa::kRef, logits, 3, out, nullptr), Error);
}

TEST(SoftmaxSimd, OpOnTheNativeBackendOnEveryIsa) {
  Tensor logits = floats({3, 21}, random_floats(63, 7, -4.f, 4.f));
  Tensor want = run_op1("Softmax", {logits}, {}, Backend::kReference);
  for (x86::Isa isa : simd_isas()) {
    SCOPED_TRACE(x86::isa_name(isa));
    x86::force_isa(isa);
    expect_probabilities_close(floats(run_op1("Softmax", {logits}, {}, Backend::kNative)),
                               floats(want));
  }
  x86::force_isa(std::nullopt);
}

}  // namespace
}  // namespace poet::testing
