// A depthwise convolution and the 1x1 convolution that reads it (MobileNet's pairs), computed a
// few rows at a time: each run of output rows goes through the depthwise kernel into a small
// buffer of the calling thread's, and the 1x1 kernel reads it from there, in L1 and L2, rather
// than the depthwise layer writing its whole output (1.6 MB for MobileNet v1 1.0's first pair)
// past L2 and the 1x1 layer reading it back.
//
//   DepthwisePointwisePlan plan(depthwise_shape, pointwise_filter, threads);
//   depthwise_pointwise_nhwc(plan, input, depthwise_weights, Activation::kRelu6,
//                            pointwise_filter, pointwise_bias, Activation::kRelu6, output, pool);
//
// The results are the two kernels' (depthwise_conv2d_nhwc.h, conv2d_nhwc.h) up to float
// rounding: a run's last rows can fall in a shorter tile of the 1x1 kernel, which sums in
// another order.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/conv_shape.h"
#include "kernels/x86/conv2d_nhwc.h"
#include "kernels/x86/depthwise_conv2d_nhwc.h"

namespace poet {
class ThreadPool;
}

namespace poet::kernels::x86 {

// Output rows per run: at least 4, and at least 32 KiB of depthwise output (a 64x64x8 layer
// then runs 16 rows at a time). The widest of MobileNet v1 1.0's pairs (112 x 32 channels)
// buffers 57 KiB, the 56x56x128 and 28x28x256 ones 112 KiB. Runs of 4 rows were the fastest of
// 2, 4 and 8 on MobileNet v1 1.0's pairs; on 0.25_128 at batch 32 they read 3-7% slower than
// unfused, runs of 32 KiB level (docs/PERFORMANCE.md, "a depthwise layer and its 1x1 layer").
int64_t depthwise_pointwise_run_rows(const ConvShape& depthwise);

// The 1x1 layer's shape over `depthwise`'s output (the whole batch), to `out_c` channels.
ConvShape pointwise_after(const ConvShape& depthwise, int64_t out_c);

// What the pair's runs are, worked out once per layer shape: the runs of rows each thread
// computes and a plan of the 1x1 kernel for each run height.
class DepthwisePointwisePlan {
 public:
  struct Key {
    ConvShape depthwise;
    int64_t pointwise_out_c = 0;
    Isa isa = Isa::kRef;
    int threads = 1;
    friend bool operator==(const Key&, const Key&) = default;
  };
  // `depthwise` has multiplier 1 (out_c == in_c); `pointwise` is a 1x1 filter over its
  // channels, packed for a SIMD ISA.
  DepthwisePointwisePlan(const ConvShape& depthwise, const PackedConvFilter& pointwise,
                         int threads);

  const Key& shape() const { return key_; }
  // The 1x1 layer's shape for the whole batch.
  ConvShape pointwise_shape() const {
    return pointwise_after(key_.depthwise, key_.pointwise_out_c);
  }

 private:
  friend void depthwise_pointwise_nhwc(const DepthwisePointwisePlan&, std::span<const float>,
                                       const PackedDepthwiseWeights&, Activation,
                                       const PackedConvFilter&, std::span<const float>, Activation,
                                       std::span<float>, ThreadPool*);

  // The 1x1 kernel's plan for a run of `rows` rows (one of the runs' heights).
  const Conv2dNhwcPlan& pointwise_plan(int64_t rows) const;

  Key key_;
  int64_t run_rows_;          // depthwise_pointwise_run_rows, at most the image's height
  std::vector<RowRun> runs_;  // one band of rows per thread, in runs of at most run_rows_
  // One image of h rows on one thread, for each height h of a run.
  std::vector<std::pair<int64_t, Conv2dNhwcPlan>> pointwise_;
};

// output = pw_act(pointwise(dw_act(depthwise(input)))), each with its packed bias, as
// depthwise_conv2d_nhwc then conv2d_nhwc compute it. `pool` may be null.
void depthwise_pointwise_nhwc(const DepthwisePointwisePlan& plan, std::span<const float> input,
                              const PackedDepthwiseWeights& depthwise, Activation depthwise_act,
                              const PackedConvFilter& pointwise,
                              std::span<const float> pointwise_bias, Activation pointwise_act,
                              std::span<float> output, ThreadPool* pool);

}  // namespace poet::kernels::x86
