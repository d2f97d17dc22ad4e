// The pair's driver: runs of rows over the threads, each through both kernels in turn. The
// arithmetic is the two kernels' own (depthwise_conv2d_nhwc_window.h, conv2d_nhwc_blocked.h).
#include "kernels/x86/depthwise_pointwise_nhwc.h"

#include <algorithm>

#include "engine/error.h"
#include "engine/thread_pool.h"

namespace poet::kernels::x86 {

ConvShape pointwise_after(const ConvShape& depthwise, int64_t out_c) {
  ConvShape s;
  s.batch = depthwise.batch;
  s.in_h = s.out_h = depthwise.out_h;
  s.in_w = s.out_w = depthwise.out_w;
  s.in_c = depthwise.out_c;
  s.out_c = out_c;
  return s;
}

int64_t depthwise_pointwise_run_rows(const ConvShape& depthwise) {
  constexpr int64_t kMinRows = 4, kMinBytes = 32 * 1024;
  const int64_t row_bytes =
      std::max<int64_t>(1, depthwise.out_w * depthwise.out_c * int64_t{sizeof(float)});
  return std::max(kMinRows, (kMinBytes + row_bytes - 1) / row_bytes);
}

DepthwisePointwisePlan::DepthwisePointwisePlan(const ConvShape& depthwise,
                                               const PackedConvFilter& pointwise, int threads)
    : key_{depthwise, pointwise.out_c, pointwise.isa, threads},
      run_rows_(
          std::min(depthwise_pointwise_run_rows(depthwise), std::max<int64_t>(1, depthwise.out_h))),
      runs_(row_runs(depthwise.batch, depthwise.out_h, threads, run_rows_)) {
  if (!depthwise_conv2d_nhwc_vectorised(depthwise) || pointwise.k_h != 1 || pointwise.k_w != 1 ||
      pointwise.in_c != depthwise.out_c ||
      (pointwise.isa != Isa::kAvx2 && pointwise.isa != Isa::kAvx512))
    fail("depthwise_pointwise_nhwc: a ", depthwise.k_h, "x", depthwise.k_w, " depthwise layer of ",
         depthwise.in_c, " -> ", depthwise.out_c, " channels cannot feed a ", pointwise.k_h, "x",
         pointwise.k_w, " filter of ", pointwise.in_c, " -> ", pointwise.out_c, " channels on ",
         isa_name(pointwise.isa));
  for (const RowRun& run : runs_) {
    const auto has = [&](const auto& plan) { return plan.first == run.rows; };
    if (std::none_of(pointwise_.begin(), pointwise_.end(), has)) {
      // One image of the run's rows.
      ConvShape rows = pointwise_after(depthwise, pointwise.out_c);
      rows.batch = 1;
      rows.in_h = rows.out_h = run.rows;
      pointwise_.emplace_back(run.rows, Conv2dNhwcPlan(rows, pointwise, 1));
    }
  }
}

const Conv2dNhwcPlan& DepthwisePointwisePlan::pointwise_plan(int64_t rows) const {
  for (const auto& [height, plan] : pointwise_)
    if (height == rows) return plan;
  fail("depthwise_pointwise_nhwc: no plan for a run of ", rows, " rows");
}

void depthwise_pointwise_nhwc(const DepthwisePointwisePlan& plan, std::span<const float> input,
                              const PackedDepthwiseWeights& depthwise, Activation depthwise_act,
                              const PackedConvFilter& pointwise,
                              std::span<const float> pointwise_bias, Activation pointwise_act,
                              std::span<float> output, ThreadPool* pool) {
  const ConvShape& d = plan.key_.depthwise;
  const ConvShape p = plan.pointwise_shape();
  const bool ok =
      static_cast<int64_t>(input.size()) == d.input_size() &&
      static_cast<int64_t>(output.size()) == p.output_size() && depthwise.k_h == d.k_h &&
      depthwise.k_w == d.k_w && depthwise.channels == d.out_c && pointwise.isa == plan.key_.isa &&
      pointwise.in_c == d.out_c && pointwise.out_c == p.out_c &&
      (pointwise_bias.empty() || static_cast<int64_t>(pointwise_bias.size()) == p.out_c);
  if (!ok)
    fail("depthwise_pointwise_nhwc: input ", input.size(), " and output ", output.size(),
         " floats, or the packed weights, do not fit the plan's ", d.batch, "x", d.in_h, "x",
         d.in_w, "x", d.in_c, " -> ", p.out_c, " channels");
  if (output.empty()) return;
  const DepthwiseRowsFn depthwise_rows = depthwise_rows_fn(plan.key_.isa);
  const float* zeros = depthwise_zero_row(d.in_w * d.in_c);
  const int64_t row_floats = d.out_w * d.out_c, out_row_floats = p.out_w * p.out_c;
  parallel_for(pool, static_cast<int64_t>(plan.runs_.size()), 1, [&](int64_t begin, int64_t end) {
    // Each thread's own buffer, only grown: a graph's pairs do not allocate one each.
    thread_local std::vector<float> rows;
    if (static_cast<int64_t>(rows.size()) < plan.run_rows_ * row_floats)
      rows.resize(plan.run_rows_ * row_floats);
    for (int64_t i = begin; i < end; ++i) {
      const RowRun& run = plan.runs_[i];
      const DepthwiseJob job{.shape = d,
                             .input = input.data(),
                             .weights = depthwise.data(),
                             .zeros = zeros,
                             .act = depthwise_act,
                             .output = rows.data(),
                             .first_row = run.row};
      depthwise_rows(job, run.row, run.rows, 0, d.out_c);
      conv2d_nhwc(plan.pointwise_plan(run.rows),
                  {rows.data(), static_cast<size_t>(run.rows * row_floats)}, pointwise,
                  pointwise_bias, pointwise_act,
                  output.subspan(run.row * out_row_floats, run.rows * out_row_floats), nullptr);
    }
  });
}

}  // namespace poet::kernels::x86
