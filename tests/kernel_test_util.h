// Shared by the tests that hold fast kernels against their references: the ISAs to try,
// random data, and a comparison that allows float rounding.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "kernels/conv_shape.h"
#include "kernels/x86/cpu_features.h"

namespace poet::testing {

// The SIMD ISAs this machine can run (not kRef).
std::vector<kernels::x86::Isa> simd_isas();

// n floats uniform in [lo, hi), the same for the same seed.
std::vector<float> random_floats(int64_t n, uint32_t seed, float lo = -1.f, float hi = 1.f);

// Fast kernels sum in another order than the reference, often with fused multiply-adds: each
// element may differ by `tolerance` relative to its size (absolute below 1). Reports the
// first few differences.
void expect_close(std::span<const float> got, std::span<const float> want, float tolerance);

// Runs a layer of shape `s` into channels [first, first + s.out_c) of a wider output whose
// pixels lie `stride` floats apart, as a producer writes its part of a concatenation in place:
// `run` gets the shape with out_stride set and the output from channel `first` of the first
// pixel on. Checks that no float outside those channels changed and returns the layer's output
// read back densely.
using ConvRun = std::function<void(const kernels::ConvShape&, std::span<float>)>;
std::vector<float> run_into_channel_slice(const kernels::ConvShape& s, int64_t first,
                                          int64_t stride, const ConvRun& run);

}  // namespace poet::testing
