// Convolutions in a chain (each reading the one before it), computed a few rows at a time:
// each run of the last layer's output rows pulls just the rows it needs through the layers
// before it, which keep them in small windows of the calling thread's, in L1 and L2. The
// tensors between the layers are never written whole. MobileNet v1 1.0's first layers write
// 1.6-3.2 MB each for a 224x224 image, past a 1 MiB L2 and, with the weights of the later
// layers passing through it on every run, out of the L3 too.
//
//   std::vector<ChainLayerShape> shapes = {{stem}, {depthwise, true}, {pointwise}};
//   std::vector<const PackedConvFilter*> filters = {&stem_filter, nullptr, &pointwise_filter};
//   ConvChainPlan plan(shapes, filters, threads);
//   std::vector<ChainLayer> layers = {
//       {.filter = &stem_filter, .bias = stem_bias, .act = relu6},
//       {.depthwise = &depthwise_weights, .act = relu6},
//       {.filter = &pointwise_filter, .bias = pw_bias, .act = relu6}};
//   conv_chain_nhwc(plan, input, layers, output, pool);
//
// A layer is a convolution (conv2d_nhwc.h) or a depthwise one of multiplier 1
// (depthwise_conv2d_nhwc.h), of any window and stride, with no dilation. A depthwise layer and
// the 1x1 layer after it (MobileNet's pairs) are the shortest chain. The results are the
// kernels' own up to float rounding: a run's rows can fall in other tiles of the convolution
// kernel than the whole layer's, which sum in another order.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "kernels/conv_shape.h"
#include "kernels/x86/conv2d_nhwc.h"
#include "kernels/x86/depthwise_conv2d_nhwc.h"

namespace poet {
class ThreadPool;
}

namespace poet::kernels::x86 {

// One layer's shape over the whole batch; each reads the one before's output.
struct ChainLayerShape {
  ConvShape shape;
  bool depthwise = false;
  friend bool operator==(const ChainLayerShape&, const ChainLayerShape&) = default;
};

// One layer's weights and epilogue. A convolution has a packed filter and a bias (possibly
// empty); a depthwise layer's packed weights hold its bias.
struct ChainLayer {
  const PackedConvFilter* filter = nullptr;
  const PackedDepthwiseWeights* depthwise = nullptr;
  std::span<const float> bias;
  Activation act = Activation::kNone;
};

// The last layer's output rows per run: at least 4, and at least 32 KiB of the last layer's
// input (a 64x64x8 pair then runs 16 rows at a time). Runs of 4 rows were the fastest of 2, 4
// and 8 on MobileNet v1 1.0's pairs; on 0.25_128 at batch 32 they read 3-7% slower than the
// layers apart, runs of 32 KiB level (docs/performance-log.md, "a depthwise layer and its 1x1
// layer").
int64_t conv_chain_run_rows(const ConvShape& last);

// What the chain's runs do, worked out once per chain of shapes. Each thread's band of the
// last layer's output rows (within one image) is cut into segments, each a list of steps (a
// layer's rows from its input window into its output window) that starts with empty windows:
// the band is one segment when a layer after the first reads some rows twice (segments would
// compute those again), and each run is one otherwise (a pair), which another thread can take
// (the pool's stealing). Also a plan of the convolution kernel for each distinct slice of rows.
class ConvChainPlan {
 public:
  struct Key {
    std::vector<ChainLayerShape> layers;
    Isa isa = Isa::kRef;
    int threads = 1;
    friend bool operator==(const Key&, const Key&) = default;
  };
  // `filters` has one entry per layer: the convolutions' packed filters (for one SIMD ISA),
  // null for the depthwise layers. Throws Error when the layers do not chain.
  ConvChainPlan(std::vector<ChainLayerShape> layers,
                std::span<const PackedConvFilter* const> filters, int threads);

  const Key& shape() const { return key_; }

  // One layer's output rows [row, row + rows) of image `image`, from its input window (the
  // image itself for the first layer) into its output window (the output for the last).
  struct Step {
    int layer = 0;
    int slice = 0;  // into slices_[layer]
    int64_t image = 0, row = 0, rows = 0;
    int64_t in_row = 0;   // the first input row's place in the input window (in the image)
    int64_t out_row = 0;  // where row `row` goes in the output window (in the image)
    // Before the step, the output window's rows [keep_from, keep_from + keep_rows) move to
    // its start: those the next layer still reads.
    int64_t keep_from = 0, keep_rows = 0;
  };
  struct Segment {
    int64_t first_step = 0, last_step = 0;
  };
  // A layer's shape over a slice of its rows (one image), and the convolution kernel's plan
  // for it.
  struct Slice {
    ConvShape shape;
    std::vector<Conv2dNhwcPlan> conv;  // one, for a convolution; none for a depthwise layer
  };

  std::span<const Segment> segments() const { return segments_; }
  std::span<const Step> steps() const { return steps_; }
  // Rows a thread's window of layer `layer`'s output must hold (0 for the last layer).
  int64_t window_rows(int layer) const { return window_rows_[layer]; }

  // The depthwise kernel and the zeros its windows read above and below the image.
  struct DepthwiseRows {
    DepthwiseRowsFn rows;
    const float* zeros;
  };

 private:
  friend void conv_chain_nhwc(const ConvChainPlan&, std::span<const float>,
                              std::span<const ChainLayer>, std::span<float>, ThreadPool*);
  void add_segment(int64_t image, int64_t first, int64_t last, int64_t run_rows,
                   std::span<const PackedConvFilter* const> filters);
  int slice_of(int layer, const ConvShape& slice, const PackedConvFilter* filter);
  // Replays a segment's steps on the calling thread, its windows in `buffer` (window_at_).
  void run_segment(const Segment& segment, std::span<const float> input,
                   std::span<const ChainLayer> layers, std::span<float> output, float* buffer,
                   DepthwiseRows depthwise) const;

  Key key_;
  std::vector<Segment> segments_;
  std::vector<Step> steps_;
  std::vector<int64_t> window_rows_;
  std::vector<std::vector<Slice>> slices_;  // per layer
  std::vector<int64_t> window_at_;          // floats into a thread's buffer, per layer, + total
  int64_t zero_floats_ = 0;                 // the widest depthwise input row
};

// Runs the chain: output = the last layer's output, each layer act(conv(...) + bias) as
// conv2d_nhwc and depthwise_conv2d_nhwc compute it. `layers` matches the plan's; `pool` may be
// null.
void conv_chain_nhwc(const ConvChainPlan& plan, std::span<const float> input,
                     std::span<const ChainLayer> layers, std::span<float> output, ThreadPool* pool);

}  // namespace poet::kernels::x86
