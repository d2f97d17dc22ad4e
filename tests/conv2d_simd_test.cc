// The x86 SIMD Conv2D against the reference kernel, for every ISA this machine can run:
// every conv shape of Inception v3 and MobileNet v1 (images shrunk, channel counts kept),
// odd channel counts, tiny images, strides, dilations, bias and activations. Also CPU
// feature detection, the output prefetch's line walk, and the Conv2D op's backend choice.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>

#include "engine/thread_pool.h"
#include "kernels/ref/conv2d.h"
#include "kernels/x86/conv2d_nhwc.h"
#include "kernels/x86/cpu_features.h"
#include "kernels/x86/depthwise_conv2d_nhwc.h"
#include "kernels/x86/prefetch_for_writing.h"
#include "tests/expect_error.h"
#include "tests/kernel_test_util.h"
#include "tests/layer_shapes.h"
#include "tests/op_test_util.h"

namespace poet::testing {
namespace {

namespace x86 = kernels::x86;
using kernels::Activation;
using kernels::ConvShape;
using kernels::Padding;

struct Case {
  ConvShape shape;
  bool bias = false;
  Activation act = Activation::kNone;
};

// Runs `c` with the reference and with each SIMD ISA (single-threaded and on `pool`), the
// input read as `spacing` says.
void check_against_reference(const Case& c, ThreadPool* pool = nullptr,
                             x86::InputSpacing spacing = x86::InputSpacing::kAuto) {
  const ConvShape& s = c.shape;
  auto input = random_floats(s.input_size(), 1);
  auto filter = random_floats(s.k_h * s.k_w * s.in_c * s.out_c, 2);
  auto bias = c.bias ? random_floats(s.out_c, 3) : std::vector<float>{};
  std::vector<float> want(s.output_size());
  kernels::ref::conv2d(s, input, filter, bias, c.act, want);
  for (x86::Isa isa : simd_isas()) {
    SCOPED_TRACE(x86::isa_name(isa));
    auto packed = x86::pack_conv_filter(isa, s.k_h, s.k_w, s.in_c, s.out_c, filter);
    std::vector<float> got(s.output_size(), NAN);
    const x86::Conv2dNhwcPlan plan(s, packed, pool_threads(pool), spacing);
    x86::conv2d_nhwc(plan, input, packed, bias, c.act, got, pool);
    expect_close(got, want, 1e-4f);
  }
}

ConvShape shape(int64_t batch, int64_t h, int64_t w, int64_t in_c, int64_t k_h, int64_t k_w,
                int64_t stride, Padding padding, int64_t out_c, int64_t dilation = 1) {
  ConvShape s;
  s.batch = batch;
  s.in_h = h;
  s.in_w = w;
  s.in_c = in_c;
  s.k_h = k_h;
  s.k_w = k_w;
  s.stride_h = s.stride_w = stride;
  s.dilation_h = s.dilation_w = dilation;
  s.out_c = out_c;
  kernels::set_output_geometry(s, padding);
  return s;
}

TEST(Conv2DSimd, InceptionV3Layers) {
  ThreadPool pool(2);
  for (const ConvLayer& layer : inception_v3_conv_layers()) {
    SCOPED_TRACE(layer.name);
    check_against_reference({layer.shape(/*max_spatial=*/9)}, &pool);
  }
}

TEST(Conv2DSimd, MobileNetV1Layers) {
  ThreadPool pool(2);
  for (const ConvLayer& layer : mobilenet_v1_conv_layers()) {
    SCOPED_TRACE(layer.name);
    check_against_reference({layer.shape(/*max_spatial=*/15)}, &pool);
  }
  for (const ConvLayer& layer : mobilenet_v1_025_conv_layers()) {
    SCOPED_TRACE(std::string("0.25_128 ") + std::string(layer.name));
    check_against_reference({layer.shape(/*max_spatial=*/15)}, &pool);
  }
}

TEST(Conv2DSimd, OddChannelCounts) {
  for (int64_t in_c : {1, 3, 17, 33})
    for (int64_t out_c : {1, 3, 17, 33}) {
      SCOPED_TRACE(::testing::Message() << in_c << " -> " << out_c);
      check_against_reference({shape(1, 7, 9, in_c, 3, 3, 1, Padding::kSame, out_c)});
    }
}

TEST(Conv2DSimd, OutputChannelsAroundThePanelShapes) {
  // AVX-512 runs 12-pixel x 32-channel tiles up to 32 output channels and 8 x 48 above (AVX2
  // 6 x 16): last panels with 1, 2 or 3 vectors of real channels, full or partly filled.
  for (int64_t out_c : {16, 31, 32, 33, 47, 48, 49, 64, 80, 96, 97})
    for (int64_t k : {1, 3}) {
      SCOPED_TRACE(::testing::Message() << out_c << " outputs, kernel " << k);
      check_against_reference({shape(1, 5, 11, 10, k, k, 1, Padding::kSame, out_c), true});
    }
}

TEST(Conv2DSimd, TinyImages) {
  // One output pixel, fewer pixels than a micro-tile, windows larger than the image (SAME).
  check_against_reference({shape(1, 1, 1, 8, 1, 1, 1, Padding::kSame, 40)});
  check_against_reference({shape(1, 1, 1, 8, 3, 3, 1, Padding::kSame, 16)});
  check_against_reference({shape(1, 2, 3, 5, 5, 5, 1, Padding::kSame, 20)});
  check_against_reference({shape(1, 3, 3, 4, 3, 3, 1, Padding::kValid, 7)});
  // No input channels: every output is the bias.
  check_against_reference({shape(1, 3, 4, 0, 3, 3, 1, Padding::kSame, 40), true});
}

TEST(Conv2DSimd, StridedSameOnOddAndEvenSizes) {
  for (int64_t size : {8, 9, 14, 15})
    for (int64_t k : {1, 2, 3}) {
      SCOPED_TRACE(::testing::Message() << "size " << size << " kernel " << k);
      check_against_reference({shape(1, size, size, 6, k, k, 2, Padding::kSame, 20)});
      check_against_reference({shape(1, size, size + 1, 6, k, k, 2, Padding::kValid, 20)});
    }
}

// A layer that writes its channels of a concatenation's output (pixels `stride` floats apart):
// the reference and every ISA, on one thread and two, leave the other channels alone.
TEST(Conv2DSimd, WritesItsChannelsOfAWiderOutput) {
  ThreadPool pool(2);
  const ConvShape shapes[] = {
      shape(1, 6, 7, 16, 1, 1, 1, Padding::kSame, 40),   // 1x1: consecutive tiles
      shape(2, 9, 9, 12, 3, 3, 1, Padding::kSame, 33),   // regions, a partial panel, 2 images
      shape(1, 9, 9, 8, 3, 3, 2, Padding::kSame, 20),    // stride 2
      shape(3, 4, 4, 32, 1, 1, 1, Padding::kSame, 64)};  // small: the batch split by images
  for (const ConvShape& s : shapes) {
    SCOPED_TRACE(::testing::Message()
                 << s.batch << "x" << s.in_h << "x" << s.in_w << "x" << s.in_c << " -> " << s.out_c
                 << ", " << s.k_h << "x" << s.k_w << " stride " << s.stride_h);
    auto input = random_floats(s.input_size(), 1);
    auto filter = random_floats(s.k_h * s.k_w * s.in_c * s.out_c, 2);
    auto bias = random_floats(s.out_c, 3);
    std::vector<float> want(s.output_size());
    kernels::ref::conv2d(s, input, filter, bias, Activation::kRelu, want);
    const int64_t first = 24, stride = s.out_c + 40;
    EXPECT_EQ(run_into_channel_slice(s, first, stride,
                                     [&](const ConvShape& wide, std::span<float> out) {
                                       kernels::ref::conv2d(wide, input, filter, bias,
                                                            Activation::kRelu, out);
                                     }),
              want);
    for (x86::Isa isa : simd_isas()) {
      SCOPED_TRACE(x86::isa_name(isa));
      auto packed = x86::pack_conv_filter(isa, s.k_h, s.k_w, s.in_c, s.out_c, filter);
      for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
        auto run = [&](const ConvShape& wide, std::span<float> out) {
          x86::conv2d_nhwc(wide, input, packed, bias, Activation::kRelu, out, p);
        };
        expect_close(run_into_channel_slice(s, first, stride, run), want, 1e-4f);
      }
    }
  }
}

TEST(Conv2DSimd, SmallLayersSplitTheBatchOverThreads) {
  // Under ~2M multiply-adds per image, a batch is split by whole images (each thread with its
  // own padded copy: SAME 3x3 here); at batch 1 the layer runs on one thread.
  ThreadPool pool(2);
  for (int64_t batch : {1, 2, 7}) {
    SCOPED_TRACE(batch);
    check_against_reference({shape(batch, 8, 8, 16, 3, 3, 1, Padding::kSame, 24)}, &pool);
    check_against_reference({shape(batch, 4, 4, 32, 1, 1, 1, Padding::kSame, 64)}, &pool);
  }
}

// A tile's pixels are stepped to along its region's rows, jumping to the next row at the
// region's right edge: regions narrower than a tile (several jumps per tile), about a tile
// wide (tiles 6 or 12 pixels long, AVX2 / AVX-512) and wider, with strides in both axes and
// channel counts that are not a multiple of the vector width, on 2 images.
TEST(Conv2DSimd, TilesStepAcrossRegionRows) {
  // Among them regions of 6k + 1 pixels (5x5, 11x5), which end in two short tiles (4 + 3 on
  // AVX2) rather than a one-pixel tile.
  for (int64_t out_w : {1, 2, 5, 6, 7, 11, 12, 13, 25})
    for (int64_t stride : {1, 2, 3})
      for (auto [k, in_c] : {std::pair{1, 5}, {3, 3}, {2, 17}}) {
        SCOPED_TRACE(::testing::Message()
                     << "out_w " << out_w << " stride " << stride << " kernel " << k);
        const int64_t in_w = (out_w - 1) * stride + k, in_h = 2 * stride + k + 2;
        check_against_reference({shape(2, in_h, in_w, in_c, k, k, stride, Padding::kValid, 20)});
      }
}

TEST(Conv2DSimd, DilationBatchAndRectangularWindows) {
  check_against_reference({shape(1, 11, 12, 5, 3, 3, 1, Padding::kSame, 24, 2)});
  check_against_reference({shape(1, 11, 12, 5, 2, 3, 1, Padding::kValid, 24, 3)});
  check_against_reference({shape(3, 6, 5, 7, 1, 7, 1, Padding::kSame, 9)});
}

// Padding given cell by cell, as TensorFlow's EXPLICIT padding (pads may differ per side).
ConvShape padded_shape(int64_t h, int64_t w, int64_t in_c, int64_t k_h, int64_t k_w, int64_t stride,
                       int64_t top, int64_t bottom, int64_t left, int64_t right, int64_t out_c,
                       int64_t dilation = 1) {
  ConvShape s = shape(1, h, w, in_c, k_h, k_w, stride, Padding::kValid, out_c, dilation);
  s.pad_top = top;
  s.pad_left = left;
  s.out_h = (h + top + bottom - (k_h - 1) * dilation - 1) / stride + 1;
  s.out_w = (w + left + right - (k_w - 1) * dilation - 1) / stride + 1;
  return s;
}

// The kernel never reads the padding: border pixels get only the taps inside the image
// (regions of pixels sharing the same taps), interior pixels all of them. These shapes put
// every kind of region (edges, corners, a single row or column, none) under test.
TEST(Conv2DSimd, SameBordersSkipPaddingTaps) {
  ThreadPool pool(2);
  for (int64_t stride : {1, 2})
    for (auto [k_h, k_w] : {std::pair{3, 3}, {5, 5}, {1, 7}, {7, 1}, {1, 3}, {3, 1}, {2, 4}})
      for (auto [h, w] : {std::pair{8, 8}, {17, 17}, {5, 9}, {1, 6}, {6, 1}}) {
        SCOPED_TRACE(::testing::Message()
                     << h << "x" << w << " kernel " << k_h << "x" << k_w << " stride " << stride);
        check_against_reference(
            {shape(1, h, w, 19, k_h, k_w, stride, Padding::kSame, 40), true, Activation::kRelu},
            &pool);
      }
}

TEST(Conv2DSimd, WindowsLargerThanTheImage) {
  // Every pixel is a border pixel; in 7x1 on 3 rows no pixel's window holds all the taps.
  check_against_reference({shape(1, 3, 5, 9, 7, 1, 1, Padding::kSame, 20)});
  check_against_reference({shape(1, 5, 3, 9, 1, 7, 1, Padding::kSame, 20)});
  check_against_reference({shape(2, 2, 2, 9, 5, 5, 1, Padding::kSame, 33), true});
  check_against_reference({shape(1, 1, 1, 16, 7, 7, 2, Padding::kSame, 17)});
  check_against_reference({shape(1, 2, 3, 130, 5, 5, 2, Padding::kSame, 20)});
}

TEST(Conv2DSimd, DilatedWindowsSkipPaddingTaps) {
  // Dilation spreads the taps: a border pixel's taps inside the image are not contiguous
  // along x with the input channels, and some windows straddle the whole image.
  for (int64_t dilation : {2, 3, 5})
    for (int64_t stride : {1, 2}) {
      SCOPED_TRACE(::testing::Message() << "dilation " << dilation << " stride " << stride);
      check_against_reference({shape(1, 9, 10, 7, 3, 3, stride, Padding::kSame, 20, dilation)});
      check_against_reference({shape(1, 4, 9, 7, 1, 5, stride, Padding::kSame, 36, dilation)});
    }
}

TEST(Conv2DSimd, ExplicitAndAsymmetricPadding) {
  // top, bottom, left, right
  check_against_reference({padded_shape(7, 8, 11, 3, 3, 1, 2, 0, 0, 2, 24), true});
  check_against_reference({padded_shape(7, 8, 11, 3, 3, 1, 0, 1, 3, 0, 24)});
  check_against_reference({padded_shape(9, 6, 5, 1, 7, 2, 1, 2, 4, 3, 17)});
  check_against_reference({padded_shape(6, 6, 5, 3, 2, 1, 1, 1, 1, 1, 17, 2)});
  // Padding wider than the window: the outer pixels' windows hold no input cell, and their
  // output is the activated bias.
  for (Activation act : {Activation::kNone, Activation::kRelu, Activation::kRelu6})
    check_against_reference({padded_shape(3, 4, 6, 3, 3, 1, 4, 3, 5, 4, 20), true, act});
  // Filters summed in channel slices, with borders.
  check_against_reference({padded_shape(4, 5, 700, 5, 5, 1, 3, 1, 0, 2, 40), true});
}

TEST(Conv2DSimd, TwoThreadsShareBorderAndInteriorTiles) {
  // Layers large enough to split over both threads (over 2M multiply-adds), with panel counts
  // that do not divide evenly between them and tiles of unequal cost.
  ThreadPool pool(2);
  check_against_reference({shape(1, 17, 17, 64, 1, 7, 1, Padding::kSame, 160), true}, &pool);
  check_against_reference({shape(1, 8, 8, 96, 3, 3, 1, Padding::kSame, 320), true}, &pool);
  check_against_reference({shape(2, 13, 11, 48, 5, 5, 1, Padding::kSame, 72)}, &pool);
  // Weights within 256 KiB: the threads split the tiles, each with every panel (the last one
  // part-filled), for a 1x1 layer and a 3x3 one.
  check_against_reference({shape(1, 28, 28, 64, 1, 1, 1, Padding::kSame, 72), true}, &pool);
  check_against_reference({shape(1, 20, 19, 16, 3, 3, 2, Padding::kSame, 40)}, &pool);
}

TEST(Conv2DSimd, InputChannelsMultipleOf1024) {
  // Pixels 4 KiB apart, read in place and from the copy with wider spacing, whichever this
  // machine's L1 would choose: with and without padding, batches, strides, a 1x1 layer (the
  // GEMM path) on two threads.
  ThreadPool pool(2);
  for (x86::InputSpacing spacing : {x86::InputSpacing::kInPlace, x86::InputSpacing::kSpaced}) {
    SCOPED_TRACE(spacing == x86::InputSpacing::kSpaced ? "spaced" : "in place");
    check_against_reference({shape(2, 3, 4, 1024, 3, 3, 1, Padding::kSame, 20)}, nullptr, spacing);
    check_against_reference({shape(1, 5, 5, 1024, 1, 1, 2, Padding::kValid, 33)}, nullptr, spacing);
    check_against_reference({shape(1, 4, 5, 2048, 1, 1, 1, Padding::kValid, 40), true}, &pool,
                            spacing);
  }
}

TEST(Conv2DSimd, InputSpacedWhereATilesRowsAndWeightsOutnumberTheL1Ways) {
  EXPECT_TRUE(x86::space_conv_input(2048, 8, 8));    // Zen 4's AVX-512 tiles
  EXPECT_TRUE(x86::space_conv_input(1024, 12, 12));  // 13 lines in a 12-way set
  EXPECT_FALSE(x86::space_conv_input(2048, 8, 12));  // Zen 5
  EXPECT_FALSE(x86::space_conv_input(2048, 6, 8));   // AVX2's tiles on Zen 3
  EXPECT_TRUE(x86::space_conv_input(2048, 8, 0));    // ways unknown: taken as 8
  EXPECT_FALSE(x86::space_conv_input(1000, 12, 8));  // pixels not 4 KiB apart
  EXPECT_FALSE(x86::space_conv_input(0, 12, 8));
}

// A 1x1 layer with stride 1 and no padding runs a batch as one image of all its rows, so tiles
// span two images: 7x7 images (49 pixels, not a multiple of any tile), one-pixel images (a
// logits layer over a batch), 1024 channels (the respaced copy) and on two threads. Other 1x1
// layers (stride 2, explicit padding) keep their images apart.
TEST(Conv2DSimd, PointwiseBatchesRunAsOneImageOfAllTheRows) {
  ThreadPool pool(2);
  for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
    SCOPED_TRACE(p ? "2 threads" : "1 thread");
    check_against_reference(
        {shape(3, 7, 7, 40, 1, 1, 1, Padding::kSame, 56), true, Activation::kRelu6}, p);
    check_against_reference({shape(5, 1, 1, 64, 1, 1, 1, Padding::kValid, 33), true}, p);
    check_against_reference({shape(2, 3, 3, 1024, 1, 1, 1, Padding::kValid, 20)}, p);
    check_against_reference({shape(2, 5, 6, 9, 1, 1, 2, Padding::kSame, 17)}, p);
    ConvShape padded = padded_shape(3, 4, 8, 1, 1, 1, 1, 0, 0, 1, 16);
    padded.batch = 2;
    check_against_reference({padded, true}, p);
  }
}

TEST(Conv2DSimd, BiasAndActivations) {
  ThreadPool pool(2);
  for (Activation act : {Activation::kNone, Activation::kRelu, Activation::kRelu6}) {
    // Large values so relu6's upper clamp is exercised too.
    check_against_reference({shape(2, 9, 9, 40, 3, 3, 1, Padding::kSame, 50), true, act}, &pool);
    // Filters over 1 MiB per panel are summed in channel slices: bias first, activation last.
    check_against_reference({shape(1, 4, 5, 700, 5, 5, 1, Padding::kSame, 40), true, act}, &pool);
    check_against_reference({shape(1, 3, 4, 1200, 3, 3, 1, Padding::kSame, 17), true, act});
    // The same for a 1x1 layer's GEMM kernel (over 16K input channels), full and part panels.
    check_against_reference({shape(1, 2, 4, 16500, 1, 1, 1, Padding::kValid, 20), true, act});
  }
}

TEST(Conv2DSimd, RejectsMismatchedPackedFilter) {
  for (x86::Isa isa : simd_isas()) {
    auto packed = x86::pack_conv_filter(isa, 3, 3, 4, 8, std::vector<float>(3 * 3 * 4 * 8));
    ConvShape s = shape(1, 5, 5, 4, 1, 1, 1, Padding::kSame, 8);
    std::vector<float> in(s.input_size()), out(s.output_size());
    EXPECT_THROW(x86::conv2d_nhwc(s, in, packed, {}, Activation::kNone, out, nullptr), Error);
    expect_error([&] { x86::pack_conv_filter(isa, 1, 1, 2, 2, std::vector<float>(3)); },
                 "pack_conv_filter: filter has 3 values, expected 4");
  }
  if (!x86::isa_available(x86::Isa::kAvx512)) {
    expect_error(
        [] { x86::pack_conv_filter(x86::Isa::kAvx512, 1, 1, 2, 2, std::vector<float>(4)); },
        "pack_conv_filter: ISA 'avx512' is not available");
  }
}

TEST(Conv2DSimd, PointwiseBandsPerThread) {
  // 1x1 layers with a block of tiles per thread are cut into one band of pixels per thread,
  // each band tiled on its own: bands that end partway through a row, with one pixel left
  // over (the two half tiles), across the images of a batch, on 2 and 3 threads.
  ThreadPool two(2), three(3);
  for (ThreadPool* pool : {&two, &three}) {
    SCOPED_TRACE(pool->size());
    check_against_reference({shape(1, 14, 14, 64, 1, 1, 1, Padding::kValid, 96)}, pool);
    check_against_reference({shape(1, 17, 17, 40, 1, 1, 1, Padding::kValid, 72)}, pool);
    check_against_reference({shape(1, 28, 28, 24, 1, 1, 1, Padding::kValid, 256), true}, pool);
    check_against_reference({shape(3, 7, 7, 32, 1, 1, 1, Padding::kValid, 200)}, pool);
    check_against_reference({shape(1, 13, 13, 24, 1, 1, 1, Padding::kValid, 48)}, pool);
  }
}

TEST(Conv2DSimd, PointwiseAndDepthwiseLayersGiveEachThreadTheSameBand) {
  // MobileNet v1's 1x1 layers and the depthwise layers after them give thread t the same band
  // of the image (ThreadPool::owned_items), so that each layer reads what the same core wrote
  // in the layer before. Split by cost over (tile, panel), the second thread had computed the
  // last panel of eight of the first thread's tiles on the 14x14x512 layers.
  struct Layer {
    int64_t size, in_c, out_c;
  };
  for (x86::Isa isa : simd_isas()) {
    for (const Layer& l : {Layer{112, 32, 64}, Layer{56, 128, 128}, Layer{28, 256, 256},
                           Layer{14, 256, 512}, Layer{14, 512, 512}}) {
      for (int threads : {2, 3}) {
        SCOPED_TRACE(::testing::Message()
                     << x86::isa_name(isa) << " " << l.size << "x" << l.size << "x" << l.in_c
                     << " -> " << l.out_c << ", " << threads << " threads");
        const ConvShape pw = shape(1, l.size, l.size, l.in_c, 1, 1, 1, Padding::kValid, l.out_c);
        const std::vector<float> filter(l.in_c * l.out_c, 1.f);
        const x86::Conv2dNhwcPlan plan(
            pw, x86::pack_conv_filter(isa, 1, 1, l.in_c, l.out_c, filter), threads);
        const ConvShape dw = shape(1, l.size, l.size, l.out_c, 3, 3, 1, Padding::kSame, l.out_c);
        const int64_t pixels = l.size * l.size;
        for (int t = 0; t < threads; ++t) {
          const std::pair<int64_t, int64_t> band{t * pixels / threads, (t + 1) * pixels / threads};
          EXPECT_EQ(plan.thread_pixels(t), band) << "thread " << t;
          // The depthwise layer's threads take equal numbers of units, which are its bands
          // when the bands hold as many runs of rows: always on 2 threads with an even height.
          if (threads != 2) continue;
          const std::pair<int64_t, int64_t> rows{t * l.size / 2, (t + 1) * l.size / 2};
          EXPECT_EQ(x86::depthwise_thread_rows(dw, threads, t), rows) << "thread " << t;
        }
      }
    }
  }
}

// Both threads of a plan for `s` compute every output pixel: its tiles make one block, whose
// panels the threads split between them.
void expect_two_threads_split_the_panels(const ConvShape& s) {
  const std::vector<float> filter(s.k_h * s.k_w * s.in_c * s.out_c, 1.f);
  for (x86::Isa isa : simd_isas()) {
    SCOPED_TRACE(x86::isa_name(isa));
    const x86::Conv2dNhwcPlan plan(
        s, x86::pack_conv_filter(isa, s.k_h, s.k_w, s.in_c, s.out_c, filter), 2);
    for (int t = 0; t < 2; ++t)
      EXPECT_EQ(plan.thread_pixels(t), (std::pair<int64_t, int64_t>{0, s.out_h * s.out_w}))
          << "thread " << t;
  }
}

TEST(Conv2DSimd, SmallImageSplitsItsPanelsBetweenTheThreads) {
  // Inception v3's 8x8x448 -> 384 3x3 layers: the whole input (115 KB) fits a block, so the
  // tiles make one block and the two threads split its panels, each computing every pixel for
  // its half of the output channels and reading only that half of the 6.2 MB of weights. (As
  // two blocks, one per thread, each thread had read all of them.)
  expect_two_threads_split_the_panels(shape(1, 8, 8, 448, 3, 3, 1, Padding::kSame, 384));
}

TEST(Conv2DSimd, WeightsHeavierThanTheInputMakeOneBlock) {
  // Inception v3's mixed_3/conv: 4 MB of weights against 1.4 MB of input. As one block the two
  // threads split its panels, each reading only its part of the weights, once; in blocks each
  // computed its half of the pixels, streaming all the weights once per block.
  expect_two_threads_split_the_panels(shape(1, 35, 35, 288, 3, 3, 2, Padding::kValid, 384));
}

TEST(Conv2DSimd, LargeLayersCutFinerSharesWithTheSameResult) {
  // From kFineShareMacs multiply-adds a layer on two threads is cut into twice the pool's usual
  // shares per thread; the tiles, and so every output's sum, stay those of one thread.
  EXPECT_EQ(x86::conv_shares_per_thread(x86::kFineShareMacs - 1), ThreadPool::kChunksPerThread);
  EXPECT_EQ(x86::conv_shares_per_thread(x86::kFineShareMacs), 2 * ThreadPool::kChunksPerThread);
  const ConvShape s = shape(1, 35, 35, 288, 3, 3, 2, Padding::kValid, 384);  // mixed_3/conv
  ASSERT_GE(s.image_multiply_adds(), x86::kFineShareMacs);
  const auto input = random_floats(s.input_size(), 1);
  const auto filter = random_floats(s.k_h * s.k_w * s.in_c * s.out_c, 2);
  const auto bias = random_floats(s.out_c, 3);
  ThreadPool pool(2);
  for (x86::Isa isa : simd_isas()) {
    SCOPED_TRACE(x86::isa_name(isa));
    const auto packed = x86::pack_conv_filter(isa, s.k_h, s.k_w, s.in_c, s.out_c, filter);
    std::vector<float> one(s.output_size(), NAN), two(s.output_size(), NAN);
    x86::conv2d_nhwc(s, input, packed, bias, Activation::kRelu, one, nullptr);
    x86::conv2d_nhwc(s, input, packed, bias, Activation::kRelu, two, &pool);
    EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * sizeof(float)))
        << "1 and 2 threads differ";
  }
}

TEST(Conv2DSimd, PlanKeptAcrossRunsMatchesAFreshOne) {
  // The Conv2D op keeps a plan per layer: runs on new data with the same plan must give what a
  // call that plans afresh gives, bit for bit, and a plan for another thread count is refused.
  ThreadPool pool(2);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (x86::Isa isa : simd_isas()) {
    for (const ConvShape& s : {shape(1, 9, 11, 24, 3, 3, 1, Padding::kSame, 40),
                               shape(3, 14, 14, 64, 1, 1, 1, Padding::kValid, 96)}) {
      std::vector<float> filter(s.k_h * s.k_w * s.in_c * s.out_c);
      for (float& v : filter) v = u(rng);
      const auto packed = x86::pack_conv_filter(isa, s.k_h, s.k_w, s.in_c, s.out_c, filter);
      const x86::Conv2dNhwcPlan plan(s, packed, pool.size());
      for (int run = 0; run < 3; ++run) {
        std::vector<float> in(s.input_size()), kept(s.output_size()), fresh(s.output_size());
        for (float& v : in) v = u(rng);
        x86::conv2d_nhwc(plan, in, packed, {}, Activation::kRelu, kept, &pool);
        x86::conv2d_nhwc(s, in, packed, {}, Activation::kRelu, fresh, &pool);
        ASSERT_EQ(kept, fresh) << x86::isa_name(isa) << " run " << run;
      }
      std::vector<float> in(s.input_size()), out(s.output_size());
      EXPECT_THROW(x86::conv2d_nhwc(plan, in, packed, {}, Activation::kNone, out, nullptr), Error);
    }
  }
}

// Inception v3's stem at full size: its 2.8 MB output is past prefetches_output's threshold, so
// each tile fetches the lines of the tiles ahead (which the shrunk layers above never do), on
// every ISA, one thread and two; the results are the reference's.
TEST(Conv2DSimd, OutputLargerThanAnL2) {
  ThreadPool pool(2);
  const ConvShape s = shape(1, 299, 299, 3, 3, 3, 2, Padding::kValid, 32);
  ASSERT_TRUE(x86::prefetches_output(s.output_size() * int64_t{sizeof(float)}) ||
              !x86::cpu_features().prefetchw);
  check_against_reference({s, true, Activation::kRelu});
  check_against_reference({s, true, Activation::kRelu}, &pool);
}

// The Conv2D op with the native backend on every ISA: constant filter (packed once and
// cached) and fed filter, through run_op1's folded and fed paths.
TEST(Conv2DSimd, OpUsesNativeKernelOnEveryIsa) {
  ConvShape s = shape(1, 9, 8, 19, 3, 3, 2, Padding::kSame, 21);
  auto input = random_floats(s.input_size(), 4), filter = random_floats(9 * 19 * 21, 5);
  std::map<std::string, AttrValue> attrs = {{"padding", std::string("SAME")},
                                            {"strides", std::vector<int64_t>{1, 2, 2, 1}},
                                            {"T", DType::kFloat32}};
  std::vector<Tensor> inputs = {floats({1, 9, 8, 19}, input), floats({3, 3, 19, 21}, filter)};
  Tensor want = run_op1("Conv2D", inputs, attrs, Backend::kReference);
  for (x86::Isa isa : x86::available_isas()) {
    SCOPED_TRACE(x86::isa_name(isa));
    x86::force_isa(isa);
    expect_close(floats(run_op1("Conv2D", inputs, attrs, Backend::kNative)), floats(want), 1e-4f);
  }
  x86::force_isa(std::nullopt);
}

// The oneDNN backend runs when the filter is a constant (as in every frozen graph).
TEST(Conv2DSimd, OpRunsOneDnnOnAConstantFilter) {
  ConvShape s = shape(2, 9, 8, 19, 3, 3, 2, Padding::kSame, 21);
  auto input = random_floats(s.input_size(), 4), filter = random_floats(9 * 19 * 21, 5);
  std::map<std::string, AttrValue> attrs = {{"padding", std::string("SAME")},
                                            {"strides", std::vector<int64_t>{1, 2, 2, 1}},
                                            {"T", DType::kFloat32}};
  Tensor x = floats({2, 9, 8, 19}, input), w = floats({3, 3, 19, 21}, filter);
  Tensor want = run_op1("Conv2D", {x, w}, attrs, Backend::kReference);
  Executable exe = load_op("Conv2D", {fed_input(DType::kFloat32, x.shape()), constant_input(w)},
                           attrs, 1, Backend::kOneDnn);
  expect_close(floats(exe.run(std::span(&x, 1))[0]), floats(want), 1e-4f);
}

TEST(Conv2DSimd, OpPacksAConstantFilterAtLoadAndReleasesIt) {
  // The native backend adopts the constant filter at load (packs it; the executor keeps only
  // its shape): every run, on every SIMD ISA, still matches the reference.
  ConvShape s = shape(2, 9, 8, 19, 3, 3, 2, Padding::kSame, 21);
  Tensor x = floats({2, 9, 8, 19}, random_floats(s.input_size(), 6));
  Tensor w = floats({3, 3, 19, 21}, random_floats(9 * 19 * 21, 7));
  std::map<std::string, AttrValue> attrs = {{"padding", std::string("SAME")},
                                            {"strides", std::vector<int64_t>{1, 2, 2, 1}},
                                            {"T", DType::kFloat32}};
  Tensor want = run_op1("Conv2D", {x, w}, attrs, Backend::kReference);
  for (x86::Isa isa : x86::available_isas()) {
    if (isa == x86::Isa::kRef) continue;
    SCOPED_TRACE(x86::isa_name(isa));
    x86::force_isa(isa);
    Executable exe = load_op("Conv2D", {fed_input(DType::kFloat32, x.shape()), constant_input(w)},
                             attrs, 1, Backend::kNative);
    for (int run = 0; run < 2; ++run)
      expect_close(floats(exe.run(std::span(&x, 1))[0]), floats(want), 1e-4f);
  }
  x86::force_isa(std::nullopt);
}

TEST(Conv2DSimd, ReleasedTensorKeepsItsShapeButRefusesItsData) {
  Tensor t = Tensor::released(DType::kFloat32, {3, 3, 2, 4});
  EXPECT_TRUE(t.released());
  EXPECT_EQ(t.shape(), (Shape{3, 3, 2, 4}));
  expect_error([&] { (void)t.data<float>(); }, "tensor [3,3,2,4] was released");
  EXPECT_FALSE(Tensor(DType::kFloat32, {0}).released());
}

}  // namespace
}  // namespace poet::testing
