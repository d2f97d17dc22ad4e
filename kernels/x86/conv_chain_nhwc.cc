// The chain's driver: the plan walks each segment's runs back from the last layer to the
// first, working out which rows each layer must add to its window, and records the steps that
// compute them, first layer first; conv_chain_nhwc replays those steps. The arithmetic is the
// kernels' own (conv2d_nhwc_blocked.h, depthwise_conv2d_nhwc_window.h).
#include "kernels/x86/conv_chain_nhwc.h"

#include <algorithm>
#include <cstring>

#include "engine/error.h"
#include "engine/thread_pool.h"

namespace poet::kernels::x86 {
namespace {

struct Rows {
  int64_t begin = 0, end = 0;
  bool empty() const { return end <= begin; }
};

// The input rows that output rows `out` of `s` read (none from the padding).
Rows input_rows(const ConvShape& s, Rows out) {
  if (out.empty()) return {};
  const int64_t begin = out.begin * s.stride_h - s.pad_top;
  const int64_t end = (out.end - 1) * s.stride_h - s.pad_top + s.k_h;
  return {std::clamp<int64_t>(begin, 0, s.in_h), std::clamp<int64_t>(end, 0, s.in_h)};
}

// Whether a layer after the first reads some rows twice (a window taller than its stride).
// (MobileNet v1 1.0's stem and first two pairs, 2 threads, batch 1: segments of a band and of
// two runs measured level, runs of 2, 4 and 8 rows too.)
bool has_halo(std::span<const ChainLayerShape> layers) {
  return std::any_of(layers.begin() + 1, layers.end(),
                     [](const ChainLayerShape& l) { return l.shape.k_h > l.shape.stride_h; });
}

void check_chain(std::span<const ChainLayerShape> layers,
                 std::span<const PackedConvFilter* const> filters, Isa isa) {
  if (layers.empty() || filters.size() != layers.size()) fail("conv_chain_nhwc: no layers");
  if (isa != Isa::kAvx2 && isa != Isa::kAvx512)
    fail("conv_chain_nhwc: runs on AVX2 or AVX-512, not ", isa_name(isa));
  for (size_t j = 0; j < layers.size(); ++j) {
    const ConvShape& s = layers[j].shape;
    const PackedConvFilter* f = filters[j];
    const bool fits =
        s.dilation_h == 1 && s.dilation_w == 1 && s.k_h >= 1 && s.k_w >= 1 && s.stride_h >= 1 &&
        s.stride_w >= 1 &&
        (layers[j].depthwise ? !f && depthwise_conv2d_nhwc_vectorised(s)
                             : f && f->isa == isa && f->k_h == s.k_h && f->k_w == s.k_w &&
                                   f->in_c == s.in_c && f->out_c == s.out_c);
    const ConvShape* before = j ? &layers[j - 1].shape : nullptr;
    if (!fits || (before && (before->batch != s.batch || before->out_h != s.in_h ||
                             before->out_w != s.in_w || before->out_c != s.in_c)))
      fail("conv_chain_nhwc: layer ", j, " (", s.k_h, "x", s.k_w, ", ", s.in_h, "x", s.in_w, "x",
           s.in_c, " -> ", s.out_h, "x", s.out_w, "x", s.out_c,
           layers[j].depthwise ? ", depthwise" : "", ") does not follow the layer before it");
  }
}

// One step's rows of one layer: `in` holds the slice's input rows, `out` takes its output rows.
void run_layer(const ConvChainPlan::Slice& slice, const ChainLayer& layer,
               ConvChainPlan::DepthwiseRows depthwise, const float* in, float* out) {
  const ConvShape& s = slice.shape;
  if (slice.conv.empty()) {
    const DepthwiseJob job{.shape = s,
                           .input = in,
                           .weights = layer.depthwise->data(),
                           .zeros = depthwise.zeros,
                           .act = layer.act,
                           .output = out};
    depthwise.rows(job, 0, s.out_h, 0, s.out_c);
  } else {
    conv2d_nhwc(slice.conv.front(), {in, static_cast<size_t>(s.input_size())}, *layer.filter,
                layer.bias, layer.act, {out, static_cast<size_t>(s.output_size())}, nullptr);
  }
}

Isa chain_isa(std::span<const PackedConvFilter* const> filters) {
  for (const PackedConvFilter* f : filters)
    if (f) return f->isa;
  return active_isa();
}

}  // namespace

int64_t conv_chain_run_rows(const ConvShape& last) {
  constexpr int64_t kMinRows = 4, kMinBytes = 32 * 1024;
  const int64_t row_bytes = std::max<int64_t>(1, last.in_w * last.in_c * int64_t{sizeof(float)});
  return std::max(kMinRows, (kMinBytes + row_bytes - 1) / row_bytes);
}

ConvChainPlan::ConvChainPlan(std::vector<ChainLayerShape> layers,
                             std::span<const PackedConvFilter* const> filters, int threads)
    : key_{std::move(layers), chain_isa(filters), threads} {
  check_chain(key_.layers, filters, key_.isa);
  const ConvShape& last = key_.layers.back().shape;
  window_rows_.assign(key_.layers.size(), 0);
  slices_.resize(key_.layers.size());
  const int64_t run_rows = std::min(conv_chain_run_rows(last), std::max<int64_t>(1, last.out_h));
  const int64_t segment_rows = has_halo(key_.layers) ? last.out_h : run_rows;
  for (const RowRun& segment : row_runs(last.batch, last.out_h, threads, segment_rows)) {
    const int64_t image = segment.row / last.out_h, first = segment.row % last.out_h;
    add_segment(image, first, first + segment.rows, run_rows, filters);
  }
  // Each window a whole number of cache lines into a thread's buffer.
  window_at_.assign(key_.layers.size() + 1, 0);
  for (size_t j = 0; j < key_.layers.size(); ++j) {
    const ConvShape& s = key_.layers[j].shape;
    const int64_t floats = window_rows_[j] * s.out_w * s.out_c;
    window_at_[j + 1] = window_at_[j] + (floats + 15) / 16 * 16;
    if (key_.layers[j].depthwise) zero_floats_ = std::max(zero_floats_, s.in_w * s.in_c);
  }
}

// Walks the segment's runs: for each, back from the last layer, the rows each layer must add
// to its window (`fresh`) and the rows of its input they read (`need`); then records a step
// per layer with rows to add, first layer first.
void ConvChainPlan::add_segment(int64_t image, int64_t first, int64_t last, int64_t run_rows,
                                std::span<const PackedConvFilter* const> filters) {
  const int layers = static_cast<int>(key_.layers.size());
  std::vector<Rows> window(layers), fresh(layers), need(layers);
  const int64_t first_step = static_cast<int64_t>(steps_.size());
  for (int64_t row = first; row < last; row += run_rows) {
    fresh[layers - 1] = {row, std::min(last, row + run_rows)};
    for (int j = layers - 1; j >= 0; --j) {
      need[j] = input_rows(key_.layers[j].shape, fresh[j]);
      if (j > 0) fresh[j - 1] = {std::max(need[j].begin, window[j - 1].end), need[j].end};
    }
    for (int j = 0; j < layers; ++j) {
      if (fresh[j].empty()) continue;
      ConvShape slice = key_.layers[j].shape;
      slice.batch = 1;
      slice.in_h = need[j].end - need[j].begin;
      slice.out_h = fresh[j].end - fresh[j].begin;
      slice.pad_top = need[j].begin - (fresh[j].begin * slice.stride_h - slice.pad_top);
      Step step{.layer = j,
                .slice = slice_of(j, slice, filters[j]),
                .image = image,
                .row = fresh[j].begin,
                .rows = slice.out_h,
                .in_row = need[j].begin - (j == 0 ? 0 : window[j - 1].begin)};
      if (j == layers - 1) {
        step.out_row = fresh[j].begin;
      } else {
        // The window keeps what the next layer reads from it, then takes the fresh rows.
        Rows& w = window[j];
        const int64_t keep_begin = need[j + 1].begin;
        step.keep_from = std::max<int64_t>(0, keep_begin - w.begin);
        step.keep_rows = std::max<int64_t>(0, w.end - keep_begin);
        w = {keep_begin, fresh[j].end};
        step.out_row = fresh[j].begin - w.begin;
        window_rows_[j] = std::max(window_rows_[j], w.end - w.begin);
      }
      steps_.push_back(step);
    }
  }
  segments_.push_back({first_step, static_cast<int64_t>(steps_.size())});
}

int ConvChainPlan::slice_of(int layer, const ConvShape& slice, const PackedConvFilter* filter) {
  std::vector<Slice>& slices = slices_[layer];
  for (size_t i = 0; i < slices.size(); ++i)
    if (slices[i].shape == slice) return static_cast<int>(i);
  Slice made{slice, {}};
  if (filter) made.conv.emplace_back(slice, *filter, 1);
  slices.push_back(std::move(made));
  return static_cast<int>(slices.size() - 1);
}

void conv_chain_nhwc(const ConvChainPlan& plan, std::span<const float> input,
                     std::span<const ChainLayer> layers, std::span<float> output,
                     ThreadPool* pool) {
  const auto& shapes = plan.key_.layers;
  const ConvShape& first = shapes.front().shape;
  const ConvShape& last = shapes.back().shape;
  bool ok = layers.size() == shapes.size() &&
            static_cast<int64_t>(input.size()) == first.input_size() &&
            static_cast<int64_t>(output.size()) == last.output_size() && last.dense_output();
  for (size_t j = 0; ok && j < layers.size(); ++j) {
    const ChainLayer& l = layers[j];
    const ConvShape& s = shapes[j].shape;
    ok = shapes[j].depthwise
             ? l.depthwise && l.depthwise->k_h == s.k_h && l.depthwise->k_w == s.k_w &&
                   l.depthwise->channels == s.out_c
             : l.filter && l.filter->isa == plan.key_.isa && l.filter->out_c == s.out_c &&
                   (l.bias.empty() || static_cast<int64_t>(l.bias.size()) == s.out_c);
  }
  if (!ok)
    fail("conv_chain_nhwc: input ", input.size(), " and output ", output.size(),
         " floats, or the layers' weights, do not fit the plan's ", shapes.size(), " layers from ",
         first.batch, "x", first.in_h, "x", first.in_w, "x", first.in_c);
  if (output.empty()) return;
  const DepthwiseRowsFn depthwise_rows = depthwise_rows_fn(plan.key_.isa);
  parallel_for(
      pool, static_cast<int64_t>(plan.segments_.size()), 1, [&](int64_t begin, int64_t end) {
        // Each thread's own windows, only grown: a graph's chains do not allocate one each.
        thread_local std::vector<float> buffer;
        if (static_cast<int64_t>(buffer.size()) < plan.window_at_.back())
          buffer.resize(plan.window_at_.back());
        const float* zeros = plan.zero_floats_ ? depthwise_zero_row(plan.zero_floats_) : nullptr;
        for (int64_t i = begin; i < end; ++i)
          plan.run_segment(plan.segments_[i], input, layers, output, buffer.data(),
                           {depthwise_rows, zeros});
      });
}

void ConvChainPlan::run_segment(const Segment& segment, std::span<const float> input,
                                std::span<const ChainLayer> layers, std::span<float> output,
                                float* buffer, DepthwiseRows depthwise) const {
  const int last_layer = static_cast<int>(key_.layers.size()) - 1;
  const int64_t image_in = key_.layers.front().shape.in_h;
  const int64_t image_out = key_.layers.back().shape.out_h;
  for (const Step& step :
       std::span(steps_).subspan(segment.first_step, segment.last_step - segment.first_step)) {
    const int j = step.layer;
    const Slice& slice = slices_[j][step.slice];
    const int64_t in_row = slice.shape.in_w * slice.shape.in_c;
    const int64_t out_row = slice.shape.out_w * slice.shape.out_c;
    const float* in = j == 0 ? input.data() + (step.image * image_in + step.in_row) * in_row
                             : buffer + window_at_[j - 1] + step.in_row * in_row;
    float* out;
    if (j == last_layer) {
      out = output.data() + (step.image * image_out + step.out_row) * out_row;
    } else {
      float* window = buffer + window_at_[j];
      if (step.keep_rows > 0 && step.keep_from > 0)
        std::memmove(window, window + step.keep_from * out_row,
                     step.keep_rows * out_row * sizeof(float));
      out = window + step.out_row * out_row;
    }
    run_layer(slice, layers[j], depthwise, in, out);
  }
}

}  // namespace poet::kernels::x86
