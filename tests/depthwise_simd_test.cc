// The x86 SIMD depthwise convolution against the reference kernel, for every ISA this machine
// can run: every depthwise layer of MobileNet v1 1.0_224 and 0.25_128, odd channel counts,
// tiny images, strides on odd and even sizes, other windows, dilation, bias and activations,
// NaN; packed weights, and the same bits on any thread count.
// Also the DepthwiseConv2dNative and _FusedDepthwiseConv2dNative ops on each backend, and the
// optimiser fusing MobileNet's depthwise + batch norm + Relu6 into one node.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <tuple>

#include "engine/executor.h"
#include "engine/thread_pool.h"
#include "kernels/ref/depthwise_conv2d.h"
#include "kernels/x86/cpu_features.h"
#include "kernels/x86/depthwise_conv2d_nhwc.h"
#include "tests/expect_error.h"
#include "tests/kernel_test_util.h"
#include "tests/op_test_util.h"
#include "tests/test_graph.h"
#include "tests/window_shapes.h"

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

// Runs `c` with the reference and with each SIMD ISA (on `pool` when given). Inputs span
// [-3, 3] so sums of nine taps cross Relu6's upper clamp.
void check_against_reference(const Case& c, ThreadPool* pool = nullptr) {
  const ConvShape& s = c.shape;
  auto input = random_floats(s.input_size(), 1, -3.f, 3.f);
  auto filter = random_floats(s.k_h * s.k_w * s.out_c, 2);
  auto bias = c.bias ? random_floats(s.out_c, 3) : std::vector<float>{};
  std::vector<float> want(s.output_size());
  kernels::ref::depthwise_conv2d(s, input, filter, bias, c.act, want);
  for (x86::Isa isa : simd_isas()) {
    SCOPED_TRACE(x86::isa_name(isa));
    std::vector<float> got(s.output_size(), NAN);
    x86::depthwise_conv2d_nhwc(isa, s, input, filter, bias, c.act, got, pool);
    expect_close(got, want, 1e-5f);
  }
}

ConvShape shape(int64_t batch, int64_t h, int64_t w, int64_t c, int64_t k_h, int64_t k_w,
                int64_t stride, Padding padding, int64_t multiplier = 1, int64_t dilation = 1) {
  ConvShape s;
  s.batch = batch;
  s.in_h = h;
  s.in_w = w;
  s.in_c = c;
  s.k_h = k_h;
  s.k_w = k_w;
  s.stride_h = s.stride_w = stride;
  s.dilation_h = s.dilation_w = dilation;
  s.out_c = c * multiplier;
  kernels::set_output_geometry(s, padding);
  return s;
}

void check_mobilenet_layers(int64_t resolution, int64_t width_percent) {
  ThreadPool pool(2);
  for (const WindowLayer& layer : mobilenet_v1_depthwise_layers(resolution, width_percent)) {
    SCOPED_TRACE(layer.name);
    check_against_reference({layer.shape(), true, Activation::kRelu6}, &pool);
    check_against_reference({layer.shape()});
  }
}

TEST(DepthwiseSimd, MobileNetV1_224Layers) { check_mobilenet_layers(224, 100); }

TEST(DepthwiseSimd, MobileNetV1_025_128Layers) { check_mobilenet_layers(128, 25); }

TEST(DepthwiseSimd, OddChannelCountsAndTinyImages) {
  for (int64_t c : {1, 3, 8, 16, 17, 33})
    for (int64_t size : {1, 2, 3, 7})
      for (int64_t stride : {1, 2})
        for (Padding padding : {Padding::kSame, Padding::kValid}) {
          if (padding == Padding::kValid && size < 3) continue;  // no output
          SCOPED_TRACE(::testing::Message()
                       << c << " channels, " << size << "x" << size << " stride " << stride);
          check_against_reference(
              {shape(1, size, size + 1, c, 3, 3, stride, padding), true, Activation::kRelu6});
        }
}

TEST(DepthwiseSimd, StrideTwoSameOnOddAndEvenSizes) {
  for (int64_t size : {8, 9, 14, 15}) {
    SCOPED_TRACE(::testing::Message() << "size " << size);
    check_against_reference({shape(2, size, size, 40, 3, 3, 2, Padding::kSame)});
    check_against_reference({shape(1, size, size + 1, 24, 3, 3, 2, Padding::kValid)});
  }
}

TEST(DepthwiseSimd, OtherWindowsAndDilation) {
  // Only 3x3 has the register-resident kernel; the others run the per-pixel kernel.
  check_against_reference({shape(1, 11, 10, 70, 5, 5, 1, Padding::kSame), true});
  check_against_reference({shape(1, 9, 9, 19, 2, 2, 2, Padding::kSame)});
  check_against_reference({shape(1, 6, 13, 9, 1, 7, 1, Padding::kSame)});
  check_against_reference({shape(1, 12, 11, 20, 3, 3, 1, Padding::kSame, 1, 2), true});
  check_against_reference({shape(1, 12, 11, 20, 3, 3, 2, Padding::kValid, 1, 3)});
  // A window wider than the image: no interior pixels at all.
  check_against_reference({shape(1, 2, 2, 5, 5, 5, 1, Padding::kSame)});
}

TEST(DepthwiseSimd, BiasAndActivations) {
  ThreadPool pool(3);
  for (Activation act : {Activation::kNone, Activation::kRelu, Activation::kRelu6}) {
    check_against_reference({shape(3, 10, 9, 37, 3, 3, 1, Padding::kSame), true, act}, &pool);
    check_against_reference({shape(1, 5, 6, 64, 3, 3, 2, Padding::kSame), true, act});
  }
}

TEST(DepthwiseSimd, ThreadSplitOverRowsAndChannelBlocks) {
  // Work is split into two rows x 64 channels: channel counts around and between the blocks
  // and vector widths, small images with more threads than rows, batches (a task's units can
  // run from one image's last row into the next image's first), stride 2 and other windows.
  ThreadPool pool(3);
  for (int64_t c : {63, 64, 65, 100, 129, 200, 1024})
    for (int64_t size : {2, 5, 7}) {
      SCOPED_TRACE(::testing::Message() << c << " channels, " << size << "x" << size);
      check_against_reference(
          {shape(2, size, size, c, 3, 3, 1, Padding::kSame), true, Activation::kRelu6}, &pool);
      check_against_reference({shape(1, size + 1, size, c, 3, 3, 2, Padding::kSame)}, &pool);
    }
  check_against_reference({shape(3, 6, 5, 150, 5, 5, 1, Padding::kSame), true}, &pool);
  check_against_reference({shape(2, 7, 7, 130, 3, 3, 1, Padding::kSame, 1, 2), true}, &pool);
}

TEST(DepthwiseSimd, TwoRowTiles) {
  // With stride 1 the AVX-512 kernel computes two output rows at once from four input rows;
  // the threads' units are pairs of rows. Heights 1 to 6 (an odd one leaves a last row
  // alone), the pairs' top and bottom rows on the zero rows of SAME padding or inside the
  // image (VALID), batch 2 (a pair never spans two images), standard, wide (few channels)
  // and narrow tiles, the last channels masked. Strides that differ down and along the
  // image, and dilation down it, take single rows.
  ThreadPool pool(3);
  for (int64_t h = 1; h <= 6; ++h)
    for (int64_t w : {3, 7, 13})
      for (int64_t c : {5, 20, 64})
        for (Padding padding : {Padding::kSame, Padding::kValid}) {
          if (padding == Padding::kValid && h < 3) continue;  // no output
          SCOPED_TRACE(::testing::Message() << h << "x" << w << "x" << c);
          check_against_reference({shape(2, h, w, c, 3, 3, 1, padding), true, Activation::kRelu6},
                                  &pool);
        }
  for (auto [stride_h, stride_w, dilation_h] : {std::tuple{1, 2, 1}, {2, 1, 1}, {1, 1, 2}}) {
    SCOPED_TRACE(::testing::Message()
                 << "strides " << stride_h << "x" << stride_w << ", dilation " << dilation_h);
    ConvShape s = shape(2, 9, 10, 40, 3, 3, 1, Padding::kSame);
    s.stride_h = stride_h;
    s.stride_w = stride_w;
    s.dilation_h = dilation_h;
    kernels::set_output_geometry(s, Padding::kSame);
    check_against_reference({s, true, Activation::kRelu}, &pool);
  }
}

TEST(DepthwiseSimd, EveryRemainderTileWidth) {
  // Interior runs of 1 to 2 * 8 + 7 pixels: each remainder tile width after whole tiles, for
  // stride 1 and 2 (the column-walking tiles) and dilation (the generic tile).
  for (int64_t w = 3; w <= 26; ++w) {
    SCOPED_TRACE(::testing::Message() << "width " << w);
    check_against_reference({shape(1, 4, w, 20, 3, 3, 1, Padding::kSame), true});
    check_against_reference({shape(1, 4, 2 * w, 20, 3, 3, 2, Padding::kValid)});
    check_against_reference({shape(1, 5, w + 2, 20, 3, 3, 1, Padding::kValid, 1, 2)});
  }
}

TEST(DepthwiseSimd, ChannelGroupsAndNarrowRows) {
  // The 3x3 kernel covers a cache line of channels (16) at a time, then the last channels
  // vector by vector, the very last one masked; rows in tiles of 4 (AVX2) or 8 (AVX-512)
  // pixels, 8 on AVX2 for fewer than 16 channels, the last tile overlapping the one before;
  // a row narrower than its tile (with stride 1, than 8) as one tile of its width, reading
  // its weights from memory when its accumulators fill the registers; edge tiles with one
  // column outside the image (SAME) or more (tiny widths). Channel counts around the vector
  // and group sizes, widths from 1 to past two tiles, both strides, batch 2 (the zero rows
  // between images).
  for (int64_t c : {1, 7, 8, 9, 15, 16, 17, 24, 31, 33, 48})
    for (int64_t w : {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 17})
      for (int64_t stride : {1, 2}) {
        SCOPED_TRACE(::testing::Message()
                     << c << " channels, width " << w << ", stride " << stride);
        check_against_reference(
            {shape(2, 3, w, c, 3, 3, stride, Padding::kSame), true, Activation::kRelu6});
      }
}

TEST(DepthwiseSimd, StrideTwoOddWidthsAndHeights) {
  // Stride 2 on odd sizes: SAME pads one column on the right only for even inputs and on
  // both sides for odd ones, so the last tile's columns straddle the edge either way.
  for (int64_t size : {3, 5, 7, 9, 11, 13, 15, 17, 29})
    for (Padding padding : {Padding::kSame, Padding::kValid}) {
      SCOPED_TRACE(::testing::Message() << "size " << size);
      check_against_reference({shape(1, size + 2, size, 20, 3, 3, 2, padding), true});
    }
}

TEST(DepthwiseSimd, ThreadCountsGiveIdenticalResults) {
  // The split over threads only decides who computes which rows and channel blocks: every
  // output is the same to the bit on 1, 2 and 3 threads.
  std::vector<ConvShape> shapes;
  for (const WindowLayer& layer : mobilenet_v1_depthwise_layers(128, 25))
    shapes.push_back(layer.shape());
  shapes.push_back(shape(3, 9, 11, 100, 3, 3, 1, Padding::kSame));
  shapes.push_back(shape(2, 8, 5, 1030, 3, 3, 2, Padding::kSame));
  ThreadPool two(2), three(3);
  for (const ConvShape& s : shapes) {
    SCOPED_TRACE(::testing::Message() << s.batch << "x" << s.in_h << "x" << s.in_w << "x" << s.in_c
                                      << " stride " << s.stride_w);
    auto input = random_floats(s.input_size(), 1, -3.f, 3.f);
    auto filter = random_floats(9 * s.out_c, 2), bias = random_floats(s.out_c, 3);
    for (x86::Isa isa : simd_isas()) {
      SCOPED_TRACE(x86::isa_name(isa));
      std::vector<float> one(s.output_size()), got(s.output_size());
      x86::depthwise_conv2d_nhwc(isa, s, input, filter, bias, Activation::kRelu6, one, nullptr);
      for (ThreadPool* pool : {&two, &three}) {
        std::fill(got.begin(), got.end(), NAN);
        x86::depthwise_conv2d_nhwc(isa, s, input, filter, bias, Activation::kRelu6, got, pool);
        EXPECT_EQ(got, one) << pool->size() << " threads";
      }
    }
  }
}

TEST(DepthwiseSimd, PackedWeightsGiveTheSameResult) {
  // The op packs a constant filter and bias once; the result is the same to the bit as
  // packing on every call, with a bias and without.
  for (const ConvShape& s :
       {shape(2, 7, 9, 37, 3, 3, 1, Padding::kSame), shape(1, 6, 6, 16, 5, 3, 2, Padding::kSame)}) {
    auto input = random_floats(s.input_size(), 4, -3.f, 3.f);
    auto filter = random_floats(s.k_h * s.k_w * s.out_c, 5);
    auto bias = random_floats(s.out_c, 6);
    for (bool with_bias : {true, false}) {
      std::span<const float> b =
          with_bias ? std::span<const float>(bias) : std::span<const float>();
      const x86::PackedDepthwiseWeights packed =
          x86::pack_depthwise_weights(s.k_h, s.k_w, s.out_c, filter, b);
      for (x86::Isa isa : simd_isas()) {
        SCOPED_TRACE(::testing::Message() << x86::isa_name(isa) << " bias " << with_bias);
        std::vector<float> want(s.output_size(), NAN), got(s.output_size(), NAN);
        x86::depthwise_conv2d_nhwc(isa, s, input, filter, b, Activation::kRelu, want, nullptr);
        x86::depthwise_conv2d_nhwc(isa, s, input, packed, Activation::kRelu, got, nullptr);
        EXPECT_EQ(got, want);
      }
    }
  }
}

TEST(DepthwiseSimd, PackedWeightsRejectMismatches) {
  std::vector<float> filter(9 * 20), bias(20);
  EXPECT_THROW(x86::pack_depthwise_weights(3, 3, 21, filter, bias), Error);
  EXPECT_THROW(x86::pack_depthwise_weights(3, 3, 20, filter, std::span(bias).first(19)), Error);
  const x86::PackedDepthwiseWeights packed = x86::pack_depthwise_weights(3, 3, 20, filter, bias);
  ConvShape s = shape(1, 5, 5, 20, 3, 3, 1, Padding::kSame);
  std::vector<float> in(s.input_size()), out(s.output_size());
  for (x86::Isa isa : simd_isas()) {
    ConvShape wider = shape(1, 5, 5, 24, 3, 3, 1, Padding::kSame);
    std::vector<float> wide_in(wider.input_size()), wide_out(wider.output_size());
    EXPECT_THROW(x86::depthwise_conv2d_nhwc(isa, wider, wide_in, packed, Activation::kNone,
                                            wide_out, nullptr),
                 Error);
    EXPECT_THROW(x86::depthwise_conv2d_nhwc(isa, s, std::span(in).first(10), packed,
                                            Activation::kNone, out, nullptr),
                 Error);
  }
  EXPECT_THROW(
      x86::depthwise_conv2d_nhwc(x86::Isa::kRef, s, in, packed, Activation::kNone, out, nullptr),
      Error);
}

TEST(DepthwiseSimd, NanPassesThroughLikeTheReference) {
  // Relu and Relu6 map NaN to 0, no activation keeps it, as in the reference.
  ConvShape s = shape(1, 6, 9, 20, 3, 3, 1, Padding::kSame);
  auto input = random_floats(s.input_size(), 7);
  input[(2 * s.in_w + 4) * s.in_c + 3] = NAN;
  auto filter = random_floats(9 * s.out_c, 8);
  for (Activation act : {Activation::kNone, Activation::kRelu, Activation::kRelu6}) {
    std::vector<float> want(s.output_size());
    kernels::ref::depthwise_conv2d(s, input, filter, {}, act, want);
    for (x86::Isa isa : simd_isas()) {
      SCOPED_TRACE(::testing::Message()
                   << x86::isa_name(isa) << " activation " << static_cast<int>(act));
      std::vector<float> got(s.output_size());
      x86::depthwise_conv2d_nhwc(isa, s, input, filter, {}, act, got, nullptr);
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(std::isnan(got[i]), std::isnan(want[i])) << "element " << i;
        if (!std::isnan(want[i])) {
          EXPECT_NEAR(got[i], want[i], 1e-5f) << "element " << i;
        }
      }
    }
  }
}

TEST(DepthwiseSimd, MultiplierAboveOneRunsTheReference) {
  ConvShape s = shape(1, 6, 5, 3, 3, 3, 1, Padding::kSame, /*multiplier=*/2);
  EXPECT_FALSE(x86::depthwise_conv2d_nhwc_vectorised(s));
  auto input = random_floats(s.input_size(), 4), filter = random_floats(9 * s.out_c, 5);
  std::vector<float> want(s.output_size());
  kernels::ref::depthwise_conv2d(s, input, filter, {}, Activation::kRelu, want);
  for (x86::Isa isa : simd_isas()) {
    std::vector<float> got(s.output_size(), NAN);
    x86::depthwise_conv2d_nhwc(isa, s, input, filter, {}, Activation::kRelu, got, nullptr);
    EXPECT_EQ(got, want);
  }
}

TEST(DepthwiseSimd, RejectsMismatchedBuffers) {
  ConvShape s = shape(1, 5, 5, 4, 3, 3, 1, Padding::kSame);
  std::vector<float> in(s.input_size()), filter(9 * 4), out(s.output_size());
  std::vector<float> short_filter(8), bad_bias(3);
  expect_error(
      [&] {
        x86::depthwise_conv2d_nhwc(x86::Isa::kRef, s, in, short_filter, {}, Activation::kNone, out,
                                   nullptr);
      },
      "depthwise_conv2d_nhwc: buffer sizes");
  EXPECT_THROW(x86::depthwise_conv2d_nhwc(x86::Isa::kRef, s, in, filter, bad_bias,
                                          Activation::kNone, out, nullptr),
               Error);
}

// --- The ops. ---

std::map<std::string, AttrValue> dw_attrs(std::vector<std::string> fused_ops = {}) {
  std::map<std::string, AttrValue> attrs = {{"padding", std::string("SAME")},
                                            {"strides", std::vector<int64_t>{1, 2, 2, 1}},
                                            {"T", DType::kFloat32}};
  if (!fused_ops.empty()) {
    attrs["fused_ops"] = std::move(fused_ops);
    attrs["num_args"] = int64_t{1};
  }
  return attrs;
}

TEST(DepthwiseSimd, OpUsesNativeKernelOnEveryIsa) {
  auto input = random_floats(1 * 9 * 8 * 19, 6), filter = random_floats(9 * 19, 7);
  std::vector<Tensor> inputs = {floats({1, 9, 8, 19}, input), floats({3, 3, 19, 1}, filter)};
  Tensor want = run_op1("DepthwiseConv2dNative", inputs, dw_attrs(), Backend::kReference);
  for (x86::Isa isa : x86::available_isas()) {
    SCOPED_TRACE(x86::isa_name(isa));
    x86::force_isa(isa);
    // (kOneDnn: OpsRunOneDnnOnAConstantFilter; run_op1 wants folded == fed bit for bit, and
    // only a constant filter goes to oneDNN.)
    expect_close(floats(run_op1("DepthwiseConv2dNative", inputs, dw_attrs(), Backend::kNative)),
                 floats(want), 1e-5f);
  }
  x86::force_isa(std::nullopt);
}

TEST(DepthwiseSimd, FusedOpAppliesBiasAndActivation) {
  // Channel 0 sums to -1.5 + bias 1 = -0.5; channel 1 to 12 - 2 = 10 (one pixel, 1x1 filter).
  std::vector<Tensor> inputs = {floats({1, 1, 1, 2}, {-1.5f, 6}), floats({1, 1, 2, 1}, {1, 2}),
                                floats({2}, {1, -2})};
  const std::pair<const char*, std::vector<float>> cases[] = {
      {"", {-0.5f, 10}}, {"Relu", {0, 10}}, {"Relu6", {0, 6}}};
  for (const auto& [act, want] : cases) {
    std::vector<std::string> ops = {"BiasAdd"};
    if (*act) ops.push_back(act);
    for (Backend backend : {Backend::kReference, Backend::kNative}) {
      for (x86::Isa isa : x86::available_isas()) {
        x86::force_isa(isa);
        SCOPED_TRACE(::testing::Message() << act << " " << x86::isa_name(isa));
        Tensor out = run_op1("_FusedDepthwiseConv2dNative", inputs, dw_attrs(ops), backend);
        EXPECT_EQ(out.shape(), (Shape{1, 1, 1, 2}));
        EXPECT_EQ(floats(out), want);
      }
    }
  }
  x86::force_isa(std::nullopt);
}

TEST(DepthwiseSimd, OpsRunOneDnnOnAConstantFilter) {
  // Batch 2, odd channels, stride 2 on SAME (dw_attrs): the fed input goes through the oneDNN
  // primitive built from the constant filter (and bias), which must match the reference.
  const int64_t c = 19;
  Tensor x = floats({2, 9, 8, c}, random_floats(2 * 9 * 8 * c, 12, 3.f));
  Tensor w = floats({3, 3, c, 1}, random_floats(9 * c, 13));
  Tensor b = floats({c}, random_floats(c, 14));
  const std::tuple<const char*, std::vector<std::string>, std::vector<Tensor>> cases[] = {
      {"DepthwiseConv2dNative", {}, {w}},
      {"_FusedDepthwiseConv2dNative", {"BiasAdd", "Relu6"}, {w, b}}};
  for (const auto& [op, fused_ops, constants] : cases) {
    SCOPED_TRACE(op);
    auto op_attrs = dw_attrs(fused_ops);
    std::vector<Tensor> all = {x};
    std::vector<TensorInfo> inputs = {fed_input(DType::kFloat32, x.shape())};
    for (const Tensor& t : constants) {
      all.push_back(t);
      inputs.push_back(constant_input(t));
    }
    Tensor want = run_op1(op, all, op_attrs, Backend::kReference);
    Executable exe = load_op(op, inputs, op_attrs, 1, Backend::kOneDnn);
    expect_close(floats(exe.run(std::span(&x, 1))[0]), floats(want), 1e-5f);
  }
}

TEST(DepthwiseSimd, FusedOpRejectsOtherEpilogues) {
  std::vector<Tensor> inputs = {floats({1, 2, 2, 2}, std::vector<float>(8)),
                                floats({1, 1, 2, 1}, {1, 2}), floats({2}, {1, 2})};
  EXPECT_NE(run_op_error("_FusedDepthwiseConv2dNative", inputs, dw_attrs({"Relu"}))
                .find("fused_ops [Relu] is not supported"),
            std::string::npos);
  EXPECT_NE(
      run_op_error("_FusedDepthwiseConv2dNative", inputs, dw_attrs({"BiasAdd", "Relu6", "Relu"}))
          .find("fused_ops [BiasAdd, Relu6, Relu] is not supported"),
      std::string::npos);
  auto two_args = dw_attrs({"BiasAdd"});
  two_args["num_args"] = int64_t{2};
  EXPECT_NE(run_op_error("_FusedDepthwiseConv2dNative", inputs, two_args)
                .find("'num_args' must be 1, got 2"),
            std::string::npos);
  EXPECT_NE(run_op_error("_FusedDepthwiseConv2dNative", inputs, dw_attrs())
                .find("'fused_ops' (a list of strings) is missing"),
            std::string::npos);
  inputs[2] = floats({3}, {1, 2, 3});
  EXPECT_NE(run_op_error("_FusedDepthwiseConv2dNative", inputs, dw_attrs({"BiasAdd"}))
                .find("bias has 3 elements but the convolution makes 2 channels"),
            std::string::npos);
}

// MobileNet's depthwise layer: DepthwiseConv2dNative, batch norm as Mul + Add, Relu6. The
// native backend's optimiser makes it one fused node; the result matches the plain graph.
TEST(DepthwiseSimd, OptimiserFusesMobileNetDepthwiseBlock) {
  TestGraph t;
  auto constant = [&](const std::string& name, Shape shape, uint32_t seed) {
    return t.constant(name, floats(shape, random_floats(num_elements(shape), seed)));
  };
  Endpoint in = t.placeholder("x", PartialShape(Shape{1, 9, 9, 20}));
  Endpoint dw =
      t.op("dw", "DepthwiseConv2dNative", {in, constant("w", {3, 3, 20, 1}, 8)}, dw_attrs());
  Endpoint mul = t.op("bn/mul", "Mul", {dw, constant("scale", {20}, 9)});
  Endpoint add = t.op("bn/add", "Add", {mul, constant("shift", {20}, 10)});
  t.op("relu", "Relu6", {add});

  Tensor feed = floats({1, 9, 9, 20}, random_floats(9 * 9 * 20, 11, -4.f, 4.f));
  auto run = [&](Backend backend, std::vector<std::string>& ops) {
    ExecOptions options;
    options.backend = backend;
    Executable exe(t.g, {"x:0"}, {"relu:0"}, options);
    for (const StepInfo& step : exe.steps()) ops.push_back(step.op);
    return exe.run(std::span(&feed, 1))[0];
  };
  std::vector<std::string> fused_ops, plain_ops;
  Tensor fused = run(Backend::kNative, fused_ops);
  Tensor plain = run(Backend::kReference, plain_ops);
  EXPECT_EQ(fused_ops, (std::vector<std::string>{"_FusedDepthwiseConv2dNative"}));
  EXPECT_EQ(plain_ops, (std::vector<std::string>{"DepthwiseConv2dNative", "Mul", "Add", "Relu6"}));
  expect_close(floats(fused), floats(plain), 1e-5f);
}

}  // namespace
}  // namespace poet::testing
