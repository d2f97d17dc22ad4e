// The ISA-independent half of the fast depthwise convolution: checks, the reference fallback,
// the weights' packing and the split over threads. The arithmetic is in
// depthwise_conv2d_nhwc_window.h.
#include "kernels/x86/depthwise_conv2d_nhwc.h"

#include <algorithm>
#include <vector>

#include "engine/error.h"
#include "engine/tensor.h"
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
                  static_cast<int64_t>(output.size()) == s.output_size() && s.dense_output();
  if (!ok)
    fail("depthwise_conv2d_nhwc: buffer sizes (input ", input.size(), ", filter ", filter.size(),
         ", bias ", bias.size(), ", output ", output.size(), ") do not match the shape ", s.batch,
         "x", s.in_h, "x", s.in_w, "x", s.in_c, " -> ", s.out_c, " channels, window ", s.k_h, "x",
         s.k_w);
}

// Output rows per call: the AVX-512 kernel's tiles of two rows.
constexpr int64_t kRows = 2;

// Units of work: a run of rows (row_runs) x 64 channels (whole channel groups, and whole cache
// lines of output, so two threads never write the same line). Splitting channels as well as
// rows keeps both threads busy on the small late layers: a 7x7 or 14x14 image has too few rows
// to share evenly. Tasks of at least ~64K multiply-adds (`grain` units) keep scheduling small
// next to the work.
struct Units {
  static constexpr int64_t kBlock = 4 * kDepthwiseGroup;
  std::vector<RowRun> runs;
  int64_t blocks, grain;

  Units(const ConvShape& s, int threads)
      : runs(row_runs(s.batch, s.out_h, threads, kRows)), blocks((s.out_c + kBlock - 1) / kBlock) {
    const int64_t unit_work =
        std::max<int64_t>(1, kRows * s.out_w * std::min(kBlock, s.out_c) * s.k_h * s.k_w);
    grain = std::max<int64_t>(1, 65536 / unit_work);
  }
  int64_t count() const { return static_cast<int64_t>(runs.size()) * blocks; }
};

void run(Isa isa, const ConvShape& s, std::span<const float> input,
         const PackedDepthwiseWeights& weights, Activation act, std::span<float> output,
         ThreadPool* pool) {
  const DepthwiseJob job{.shape = s,
                         .input = input.data(),
                         .weights = weights.data(),
                         .zeros = depthwise_zero_row(s.in_w * s.in_c),
                         .act = act,
                         .output = output.data()};
  const DepthwiseRowsFn row_fn = depthwise_rows_fn(isa);
  const Units units(s, pool_threads(pool));
  parallel_for(pool, units.count(), units.grain, [&](int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end;) {
      // The units of this run of rows: one call for their channels.
      const RowRun& run = units.runs[u / units.blocks];
      const int64_t first = u % units.blocks, last = std::min(units.blocks, first + (end - u));
      row_fn(job, run.row, run.rows, first * Units::kBlock,
             std::min(s.out_c, last * Units::kBlock));
      u += last - first;
    }
  });
}

}  // namespace

std::vector<RowRun> row_runs(int64_t batch, int64_t height, int64_t bands, int64_t run_rows) {
  std::vector<RowRun> runs;
  const int64_t n = batch * height;
  for (int64_t b = 0; b < bands; ++b) {
    const int64_t end = (b + 1) * n / bands;
    for (int64_t row = b * n / bands; row < end;) {
      const int64_t image_end = (row / height + 1) * height;
      const int64_t rows = std::min({run_rows, end - row, image_end - row});
      runs.push_back({row, rows});
      row += rows;
    }
  }
  return runs;
}

const float* depthwise_zero_row(int64_t floats) {
  // Kept per calling thread and only grown, so a graph's layers do not allocate and clear one
  // each.
  thread_local std::vector<float> zero_row;
  if (static_cast<int64_t>(zero_row.size()) < floats) zero_row.assign(floats, 0.f);
  return zero_row.data();
}

DepthwiseRowsFn depthwise_rows_fn(Isa isa) {
  return simd_kernels(isa, depthwise_conv2d_nhwc_avx2_rows, depthwise_conv2d_nhwc_avx512_rows,
                      "depthwise_conv2d_nhwc");
}

std::pair<int64_t, int64_t> depthwise_thread_rows(const ConvShape& shape, int threads, int thread) {
  const Units units(shape, threads);
  const auto [begin, end] = owned_items(threads, units.count(), units.grain, thread);
  if (begin == end) return {0, 0};
  const RowRun& last = units.runs[(end - 1) / units.blocks];
  return {units.runs[begin / units.blocks].row, last.row + last.rows};
}

bool depthwise_conv2d_nhwc_vectorised(const ConvShape& shape) {
  return shape.in_c > 0 && shape.out_c == shape.in_c;
}

PackedDepthwiseWeights pack_depthwise_weights(int64_t k_h, int64_t k_w, int64_t channels,
                                              std::span<const float> filter,
                                              std::span<const float> bias) {
  const int64_t taps = k_h * k_w, groups = (channels + kDepthwiseGroup - 1) / kDepthwiseGroup;
  if (static_cast<int64_t>(filter.size()) != taps * channels ||
      (!bias.empty() && static_cast<int64_t>(bias.size()) != channels))
    fail("pack_depthwise_weights: a ", k_h, "x", k_w, " filter over ", channels, " channels takes ",
         taps * channels, " weights and no bias or ", channels, " biases, got ", filter.size(),
         " and ", bias.size());
  PackedDepthwiseWeights packed{
      k_h, k_w, channels, allocate_aligned(groups * (1 + taps) * kDepthwiseGroup * sizeof(float))};
  float* out = reinterpret_cast<float*>(packed.storage.get());
  for (int64_t c = 0; c < channels; ++c) {
    float* group = out + depthwise_weights_offset(taps, c);
    if (!bias.empty()) group[0] = bias[c];
    for (int64_t t = 0; t < taps; ++t) group[(1 + t) * kDepthwiseGroup] = filter[t * channels + c];
  }
  return packed;
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
  run(isa, s, input, pack_depthwise_weights(s.k_h, s.k_w, s.out_c, filter, bias), act, output,
      pool);
}

void depthwise_conv2d_nhwc(Isa isa, const ConvShape& s, std::span<const float> input,
                           const PackedDepthwiseWeights& weights, Activation act,
                           std::span<float> output, ThreadPool* pool) {
  if (s.output_size() == 0) return;
  const bool ok = isa != Isa::kRef && depthwise_conv2d_nhwc_vectorised(s) &&
                  static_cast<int64_t>(input.size()) == s.input_size() &&
                  static_cast<int64_t>(output.size()) == s.output_size() && s.dense_output() &&
                  weights.k_h == s.k_h && weights.k_w == s.k_w && weights.channels == s.out_c;
  if (!ok)
    fail("depthwise_conv2d_nhwc: packed ", weights.k_h, "x", weights.k_w, " weights over ",
         weights.channels, " channels, input ", input.size(), " and output ", output.size(),
         " floats do not fit the shape ", s.batch, "x", s.in_h, "x", s.in_w, "x", s.in_c, " -> ",
         s.out_c, " channels, window ", s.k_h, "x", s.k_w, " on ", isa_name(isa));
  run(isa, s, input, weights, act, output, pool);
}

}  // namespace poet::kernels::x86
