// The ISA-independent half of the fast depthwise convolution: checks, the reference fallback
// and the split over threads. The arithmetic is in depthwise_conv2d_nhwc_window.h.
#include "kernels/x86/depthwise_conv2d_nhwc.h"

#include <algorithm>
#include <vector>

#include "engine/error.h"
#include "engine/thread_pool.h"
#include "kernels/ref/depthwise_conv2d.h"

namespace poet::kernels::x86 {
namespace {

void check_sizes(const ConvShape& s, std::span<const float> input, std::span<const float> filter,
                 std::span<const float> bias, std::span<float> output) {
  const bool ok = s.in_c > 0 && s.out_c % s.in_c == 0 &&
                  static_cast<int64_t>(input.size()) == s.input_size() &&
                  static_cast<int64_t>(filter.size()) == s.k_h * s.k_w * s.out_c &&
                  (bias.empty() || static_cast<int64_t>(bias.size()) == s.out_c) &&
                  static_cast<int64_t>(output.size()) == s.output_size();
  if (!ok)
    fail("depthwise_conv2d_nhwc: buffer sizes (input ", input.size(), ", filter ", filter.size(),
         ", bias ", bias.size(), ", output ", output.size(), ") do not match the shape ", s.batch,
         "x", s.in_h, "x", s.in_w, "x", s.in_c, " -> ", s.out_c, " channels, window ", s.k_h, "x",
         s.k_w);
}

}  // namespace

bool depthwise_conv2d_nhwc_vectorised(const ConvShape& shape) {
  return shape.in_c > 0 && shape.out_c == shape.in_c;
}

void depthwise_conv2d_nhwc(Isa isa, const ConvShape& s, std::span<const float> input,
                           std::span<const float> filter, std::span<const float> bias,
                           Activation act, std::span<float> output, ThreadPool* pool) {
  if (s.output_size() == 0) return;
  check_sizes(s, input, filter, bias, output);
  if (isa == Isa::kRef || !depthwise_conv2d_nhwc_vectorised(s)) {
    ref::depthwise_conv2d(s, input, filter, bias, act, output);
    return;
  }
  std::vector<float> zeros;
  if (bias.empty()) zeros.assign(s.out_c, 0.f);
  const DepthwiseJob job{
      s,   input.data(), filter.data(), bias.empty() ? zeros.data() : bias.data(),
      act, output.data()};
  const DepthwiseRowsFn rows =
      simd_kernels(isa, depthwise_conv2d_nhwc_avx2_rows, depthwise_conv2d_nhwc_avx512_rows,
                   "depthwise_conv2d_nhwc");
  // Rows of at least ~64K multiply-adds per task, so scheduling stays small next to the work.
  const int64_t row_work = std::max<int64_t>(1, s.out_w * s.out_c * s.k_h * s.k_w);
  const int64_t grain = std::max<int64_t>(1, 65536 / row_work);
  parallel_for(pool, s.batch * s.out_h, grain,
               [&](int64_t begin, int64_t end) { rows(job, begin, end); });
}

}  // namespace poet::kernels::x86
