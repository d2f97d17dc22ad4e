#include "tests/kernel_test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace poet::testing {

std::vector<kernels::x86::Isa> simd_isas() {
  std::vector<kernels::x86::Isa> isas;
  for (kernels::x86::Isa isa : kernels::x86::available_isas())
    if (isa != kernels::x86::Isa::kRef) isas.push_back(isa);
  return isas;
}

std::vector<float> random_floats(int64_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

void expect_close(std::span<const float> got, std::span<const float> want, float tolerance) {
  ASSERT_EQ(got.size(), want.size());
  int reported = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    float allowed = tolerance * std::max(1.f, std::abs(want[i]));
    if (!(std::abs(got[i] - want[i]) <= allowed) && reported++ < 5)
      ADD_FAILURE() << "element " << i << ": got " << got[i] << ", want " << want[i];
  }
}

}  // namespace poet::testing
