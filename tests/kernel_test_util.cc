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

std::vector<float> run_into_channel_slice(const kernels::ConvShape& s, int64_t first,
                                          int64_t stride, const ConvRun& run) {
  constexpr float kUntouched = 1234.5f;
  const int64_t pixels = s.batch * s.out_h * s.out_w;
  std::vector<float> wide(pixels * stride, kUntouched);
  kernels::ConvShape strided = s;
  strided.out_stride = stride;
  run(strided, std::span(wide).subspan(first, strided.output_size()));
  std::vector<float> dense(pixels * s.out_c);
  int reported = 0;
  for (int64_t p = 0; p < pixels; ++p) {
    for (int64_t c = 0; c < stride; ++c) {
      const float v = wide[p * stride + c];
      if (c >= first && c < first + s.out_c) {
        dense[p * s.out_c + c - first] = v;
      } else if (v != kUntouched && reported++ < 5) {
        ADD_FAILURE() << "pixel " << p << " channel " << c << " outside the layer's changed to "
                      << v;
      }
    }
  }
  return dense;
}

}  // namespace poet::testing
