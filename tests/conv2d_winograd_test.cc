// Winograd Conv2D, F(4x4, 3x3), F(2x2, 5x5), F(1x4, 1x7), F(4x1, 7x1), F(1x4, 1x3) and
// F(4x1, 3x1), against the reference kernel, for every ISA this machine can run: the transform
// matrices themselves, every stride-1 layer of Inception v3 with such a window (images shrunk,
// channel counts kept), odd channel counts, images smaller than a tile or not a multiple of it,
// SAME, VALID and explicit padding, batches, bias and activations, 1 and 2 threads; and the Conv2D
// op's choice between it and the direct kernel (OpOptions::winograd).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "engine/error.h"
#include "engine/thread_pool.h"
#include "kernels/ref/conv2d.h"
#include "kernels/x86/conv2d_nhwc.h"
#include "kernels/x86/conv2d_winograd.h"
#include "kernels/x86/prefetch_for_writing.h"
#include "tests/expect_error.h"
#include "tests/kernel_test_util.h"
#include "tests/layer_shapes.h"
#include "tests/op_test_util.h"

namespace poet::testing {
namespace {

namespace x86 = kernels::x86;
namespace wg = x86::winograd;
using kernels::Activation;
using kernels::ConvShape;
using kernels::Padding;

struct Window {
  int64_t h, w;
};
// Every window conv2d_winograd computes, each with its own tile.
constexpr Window kWindows[] = {{3, 3}, {5, 5}, {1, 7}, {7, 1}, {1, 3}, {3, 1}};

ConvShape shape(int64_t batch, int64_t h, int64_t w, int64_t in_c, Padding padding, int64_t out_c,
                Window window = {3, 3}) {
  ConvShape s = ConvLayer{"", h, w, in_c, window.h, window.w, 1, padding, out_c}.shape();
  s.batch = batch;
  return s;
}

::testing::Message describe(Window window) {
  return ::testing::Message() << window.h << "x" << window.w << " ";
}

struct Case {
  ConvShape shape;
  bool bias = false;
  Activation act = Activation::kNone;
};

// Winograd's error is not relative to each output's own value: the transforms add and
// subtract the products of a whole window, so every output of a tile carries rounding errors
// of the size of the tile's largest terms. The tolerance is therefore relative to the output's
// scale (its largest magnitude, at least 1). Measured on these shapes (inputs and filters
// uniform in [-1, 1]): at most 4e-6 of the scale for 3x3 and 5x5, 8.5e-6 for 1x7 and 7x1 (ten
// points); 2e-5 leaves room for other sums while a wrong tap, point or transform entry is off
// by 1e-2 or more of the scale.
constexpr float kTolerance = 2e-5f;

void expect_close_to_scale(std::span<const float> got, std::span<const float> want) {
  ASSERT_EQ(got.size(), want.size());
  float scale = 1.f;
  for (float w : want) scale = std::max(scale, std::abs(w));
  int reported = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!(std::abs(got[i] - want[i]) <= kTolerance * scale) && reported++ < 5)
      ADD_FAILURE() << "element " << i << ": got " << got[i] << ", want " << want[i]
                    << " (output scale " << scale << ")";
  }
}

// Runs `c` with the reference, and with each SIMD ISA on one thread and on a pool of 2, whose
// results must be the same bits.
void check_against_reference(const Case& c) {
  const ConvShape& s = c.shape;
  ASSERT_TRUE(x86::winograd_applies(s));
  auto input = random_floats(s.input_size(), 1);
  auto filter = random_floats(s.k_h * s.k_w * s.in_c * s.out_c, 2);
  auto bias = c.bias ? random_floats(s.out_c, 3, -2.f, 2.f) : std::vector<float>{};
  std::vector<float> want(s.output_size());
  kernels::ref::conv2d(s, input, filter, bias, c.act, want);
  ThreadPool pool(2);
  for (x86::Isa isa : simd_isas()) {
    SCOPED_TRACE(x86::isa_name(isa));
    auto packed = x86::pack_winograd_filter(isa, s.k_h, s.k_w, s.in_c, s.out_c, filter);
    std::vector<float> one(s.output_size(), NAN), two(s.output_size(), NAN);
    x86::conv2d_winograd(s, input, packed, bias, c.act, one, nullptr);
    expect_close_to_scale(one, want);
    x86::conv2d_winograd(s, input, packed, bias, c.act, two, &pool);
    EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * sizeof(float)))
        << "1 and 2 threads differ";
  }
}

// The constants: A^T [(G g) .* (B^T d)] is the 1-D correlation of d (F::kPoints values) with
// g (F::kWindow), exactly up to double rounding, for random data; the 2-D transforms are these
// applied to rows and columns.
template <class F>
void expect_correlation() {
  constexpr int n = F::kPoints, r = F::kWindow;
  static_assert(n == F::kOut + r - 1);
  auto d = random_floats(n, 11), g = random_floats(r, 12);
  double gg[n], bd[n];
  for (int i = 0; i < n; ++i) {
    gg[i] = bd[i] = 0;
    for (int k = 0; k < r; ++k) gg[i] += F::kG[i][k] * g[k];
    for (int k = 0; k < n; ++k) bd[i] += F::kBT[i][k] * d[k];
  }
  for (int y = 0; y < F::kOut; ++y) {
    double got = 0, want = 0;
    for (int i = 0; i < n; ++i) got += F::kAT[y][i] * gg[i] * bd[i];
    for (int k = 0; k < r; ++k) want += static_cast<double>(d[y + k]) * g[k];
    EXPECT_NEAR(got, want, 1e-12) << "output " << y;
  }
}

TEST(WinogradMatrices, ComputeTheCorrelation) {
  expect_correlation<wg::F1_1>();
  expect_correlation<wg::F4_3>();
  expect_correlation<wg::F2_5>();
  expect_correlation<wg::F4_7>();
}

TEST(Conv2DWinograd, InceptionV3Layers) {
  int layers = 0;
  for (const ConvLayer& layer : inception_v3_conv_layers()) {
    if (!x86::winograd_applies(layer.shape())) continue;
    SCOPED_TRACE(layer.name);
    ++layers;
    // 11x11 (VALID: 9x9 out, SAME: 11x11): interior and border tiles, a partial last tile.
    check_against_reference({layer.shape(/*max_spatial=*/11), true, Activation::kRelu});
  }
  // 3x3: 2a, 2b, 4a, 5b 64->96 and 96->96, 7b 448->384; 5x5: 5b 48->64; 1x7 and 7x1: five
  // each, Mixed_6b to 6e (7a's are 6e's shape); 1x3 and 3x1: 7b 384->384 (and 7c).
  EXPECT_EQ(layers, 19);
}

TEST(Conv2DWinograd, OddChannelCounts) {
  for (Window window : kWindows)
    for (int64_t in_c : {1, 3, 7, 13, 17})
      for (int64_t out_c : {1, 3, 7, 13, 17}) {
        SCOPED_TRACE(describe(window) << in_c << " -> " << out_c);
        check_against_reference({shape(1, 9, 10, in_c, Padding::kSame, out_c, window), true});
      }
}

// Sizes up to 13: below, at and past the 1x7 tile's 10-cell window and its 4 outputs.
TEST(Conv2DWinograd, ImagesSmallerThanATileOrNotAMultipleOfIt) {
  for (Window window : kWindows)
    for (int64_t size : {1, 2, 3, 5, 6, 7, 9, 10}) {
      SCOPED_TRACE(describe(window) << "size " << size);
      check_against_reference({shape(3, size, size, 5, Padding::kSame, 9, window), true});
      check_against_reference({shape(1, size, size + 3, 19, Padding::kSame, 20, window)});
      check_against_reference({shape(1, size + 3, size, 19, Padding::kSame, 20, window)});
      if (size >= window.h && size >= window.w)
        check_against_reference({shape(3, size, size, 5, Padding::kValid, 9, window), true});
    }
}

TEST(Conv2DWinograd, ExplicitPadding) {
  // Pads wider than the window on some sides: tiles whose windows miss the image entirely.
  for (Window window : kWindows) {
    SCOPED_TRACE(describe(window));
    ConvShape s = shape(2, 7, 8, 6, Padding::kValid, 11, window);
    s.pad_top = window.h;  // bottom 1
    s.pad_left = 0;        // right window.w + 1
    s.out_h = 7 + window.h + 1 - (window.h - 1);
    s.out_w = 8 + 0 + window.w + 1 - (window.w - 1);
    check_against_reference({s, true, Activation::kRelu6});
  }
}

TEST(Conv2DWinograd, BiasAndActivations) {
  for (Window window : kWindows)
    for (Activation act : {Activation::kNone, Activation::kRelu, Activation::kRelu6})
      for (bool bias : {false, true}) {
        SCOPED_TRACE(describe(window)
                     << "activation " << static_cast<int>(act) << " bias " << bias);
        check_against_reference({shape(3, 13, 11, 24, Padding::kSame, 40, window), bias, act});
      }
}

// Each window's output transform writes its channels of a concatenation's output (pixels
// further apart than out_c), leaving the others, on one thread and two; 9x10 is not a
// multiple of any tile, so the last tiles' rows and columns are cut.
TEST(Conv2DWinograd, WritesItsChannelsOfAWiderOutput) {
  ThreadPool pool(2);
  for (Window window : kWindows) {
    SCOPED_TRACE(describe(window));
    const ConvShape s = shape(2, 9, 10, 24, Padding::kSame, 40, window);
    auto input = random_floats(s.input_size(), 1);
    auto filter = random_floats(s.k_h * s.k_w * s.in_c * s.out_c, 2);
    auto bias = random_floats(s.out_c, 3);
    std::vector<float> want(s.output_size());
    kernels::ref::conv2d(s, input, filter, bias, Activation::kRelu6, want);
    for (x86::Isa isa : simd_isas()) {
      SCOPED_TRACE(x86::isa_name(isa));
      auto packed = x86::pack_winograd_filter(isa, s.k_h, s.k_w, s.in_c, s.out_c, filter);
      for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
        auto run = [&](const ConvShape& wide, std::span<float> out) {
          x86::conv2d_winograd(wide, input, packed, bias, Activation::kRelu6, out, p);
        };
        expect_close_to_scale(run_into_channel_slice(s, 16, 96, run), want);
      }
    }
  }
}

// An output of 2.4 MB, past prefetches_output's threshold: the output transform fetches the
// lines of the tiles ahead (the other tests' outputs are too small to), and the results are
// the reference's, the same on one thread and two.
TEST(Conv2DWinograd, OutputLargerThanAnL2) {
  const ConvShape s = shape(1, 96, 96, 8, Padding::kSame, 64);
  ASSERT_TRUE(x86::prefetches_output(s.output_size() * int64_t{sizeof(float)}) ||
              !x86::cpu_features().prefetchw);
  check_against_reference({s, true, Activation::kRelu6});
}

// Threads split the tiles (blocks of whole micro-tiles) or, when an image has fewer tiles
// than there are shares, the output channels as well: both must give the same bits as one
// thread (checked in check_against_reference), on layers large enough to be split.
TEST(Conv2DWinograd, ThreadSplitsOverTilesAndChannels) {
  check_against_reference({shape(1, 8, 8, 64, Padding::kSame, 200), true});           // 4 tiles
  check_against_reference({shape(2, 35, 35, 16, Padding::kSame, 40), true});          // 162 tiles
  check_against_reference({shape(1, 21, 23, 130, Padding::kValid, 70), true});        // big blocks
  check_against_reference({shape(1, 4, 4, 48, Padding::kSame, 200, {5, 5}), true});   // 4 tiles
  check_against_reference({shape(2, 23, 21, 24, Padding::kSame, 40, {5, 5}), true});  // 264 tiles
  check_against_reference({shape(1, 2, 4, 48, Padding::kSame, 200, {1, 7}), true});   // 2 tiles
  check_against_reference({shape(1, 4, 2, 48, Padding::kSame, 200, {7, 1}), true});   // 2 tiles
  check_against_reference({shape(2, 17, 17, 24, Padding::kSame, 40, {1, 7}), true});  // 170 tiles
  check_against_reference({shape(2, 17, 17, 24, Padding::kSame, 40, {7, 1}), true});  // 170 tiles
}

TEST(Conv2DWinograd, LargeLayersCutFinerSharesWithTheSameResult) {
  // From kFineShareMacs multiply-adds (conv_shares_per_thread) two threads cut the tiles into
  // twice the usual shares: still the bits of one thread. (The reference is checked on the
  // smaller layers above.)
  const ConvShape s = shape(1, 40, 40, 128, Padding::kSame, 128);
  ASSERT_GE(s.image_multiply_adds(), x86::kFineShareMacs);
  const auto input = random_floats(s.input_size(), 1);
  const auto filter = random_floats(s.k_h * s.k_w * s.in_c * s.out_c, 2);
  ThreadPool pool(2);
  for (x86::Isa isa : simd_isas()) {
    SCOPED_TRACE(x86::isa_name(isa));
    auto packed = x86::pack_winograd_filter(isa, s.k_h, s.k_w, s.in_c, s.out_c, filter);
    std::vector<float> one(s.output_size(), NAN), two(s.output_size(), NAN);
    x86::conv2d_winograd(s, input, packed, {}, Activation::kNone, one, nullptr);
    x86::conv2d_winograd(s, input, packed, {}, Activation::kNone, two, &pool);
    EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * sizeof(float)))
        << "1 and 2 threads differ";
  }
}

TEST(Conv2DWinograd, RejectsOtherShapesAndMismatchedFilters) {
  for (x86::Isa isa : simd_isas()) {
    auto packed = x86::pack_winograd_filter(isa, 3, 3, 4, 8, std::vector<float>(9 * 4 * 8));
    ConvShape s = shape(1, 5, 5, 4, Padding::kSame, 8);
    std::vector<float> in(s.input_size()), out(s.output_size());
    ConvShape strided = s;
    strided.stride_h = 2;
    EXPECT_FALSE(x86::winograd_applies(strided));
    EXPECT_THROW(x86::conv2d_winograd(strided, in, packed, {}, Activation::kNone, out, nullptr),
                 Error);
    EXPECT_FALSE(x86::winograd_applies(shape(1, 5, 5, 4, Padding::kSame, 8, {7, 7})));
    EXPECT_FALSE(x86::winograd_applies(shape(1, 5, 5, 4, Padding::kSame, 8, {1, 5})));
    const ConvShape five = shape(1, 5, 5, 4, Padding::kSame, 8, {5, 5});  // a 3x3 filter for 5x5
    EXPECT_THROW(x86::conv2d_winograd(five, in, packed, {}, Activation::kNone, out, nullptr),
                 Error);
    // A 1x7 filter for a 7x1 layer.
    const ConvShape column = shape(1, 5, 5, 4, Padding::kSame, 8, {7, 1});
    auto row_filter = x86::pack_winograd_filter(isa, 1, 7, 4, 8, std::vector<float>(7 * 4 * 8));
    EXPECT_THROW(x86::conv2d_winograd(column, in, row_filter, {}, Activation::kNone, out, nullptr),
                 Error);
    const ConvShape wider = shape(1, 5, 5, 4, Padding::kSame, 9);
    std::vector<float> out9(wider.output_size());
    EXPECT_THROW(x86::conv2d_winograd(wider, in, packed, {}, Activation::kNone, out9, nullptr),
                 Error);
    expect_error([&] { x86::pack_winograd_filter(isa, 3, 3, 2, 2, std::vector<float>(3)); },
                 "pack_winograd_filter: filter has 3 values, expected 36");
    EXPECT_THROW(x86::pack_winograd_filter(isa, 7, 7, 1, 1, std::vector<float>(49)), Error);
  }
}

// Every stride-1 layer of Inception v3 that conv2d_winograd computes, at its real size, inputs and
// filters
// uniform in [-1, 1]: within the tolerance, and the error printed beside the direct kernel's
// (the figures in docs/PERFORMANCE.md, "Winograd").
TEST(Conv2DWinogradSlow, InceptionV3LayersAtFullSize) {
  const x86::Isa isa = simd_isas().back();
  for (const ConvLayer& layer : inception_v3_conv_layers()) {
    const ConvShape s = layer.shape();
    if (!x86::winograd_applies(s)) continue;
    SCOPED_TRACE(layer.name);
    auto input = random_floats(s.input_size(), 1);
    auto filter = random_floats(s.k_h * s.k_w * s.in_c * s.out_c, 2);
    std::vector<float> want(s.output_size()), winograd(s.output_size()), direct(s.output_size());
    kernels::ref::conv2d(s, input, filter, {}, Activation::kNone, want);
    x86::conv2d_winograd(s, input,
                         x86::pack_winograd_filter(isa, s.k_h, s.k_w, s.in_c, s.out_c, filter), {},
                         Activation::kNone, winograd, nullptr);
    x86::conv2d_nhwc(s, input, x86::pack_conv_filter(isa, s.k_h, s.k_w, s.in_c, s.out_c, filter),
                     {}, Activation::kNone, direct, nullptr);
    expect_close_to_scale(winograd, want);
    float scale = 0, winograd_error = 0, direct_error = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      scale = std::max(scale, std::abs(want[i]));
      winograd_error = std::max(winograd_error, std::abs(winograd[i] - want[i]));
      direct_error = std::max(direct_error, std::abs(direct[i] - want[i]));
    }
    std::printf(
        "%-18s %lldx%lld %4lld -> %-4lld %3lldx%-3lld  max |error| winograd %.2e (%.2e of the "
        "output's max %.1f), direct %.2e (%.2e)\n",
        std::string(layer.name).c_str(), static_cast<long long>(s.k_h),
        static_cast<long long>(s.k_w), static_cast<long long>(s.in_c),
        static_cast<long long>(s.out_c), static_cast<long long>(s.out_h),
        static_cast<long long>(s.out_w), winograd_error, winograd_error / scale, scale,
        direct_error, direct_error / scale);
  }
}

// The Conv2D op's choice. With OpOptions::winograd on (ExecOptions::winograd, --winograd on) a
// stride-1 layer that winograd_pays_off runs the Winograd kernel, bit for bit; off, the direct
// kernel; a layer too small to gain keeps the direct kernel. The two kernels differ in the last
// bits on these layers, so ignoring the option or the rule fails either way. Filters constant
// (packed at load) and fed (packed per run).
TEST(Conv2DWinograd, OpOptionChoosesTheKernel) {
  struct Choice {
    Window window;
    int64_t size, in_c, out_c;
    bool winograd;  // with the option on
  };
  const Choice choices[] = {
      {{3, 3}, 20, 24, 32, true},   // 2-D tiles from 8 channels and 16x16 pixels
      {{3, 3}, 8, 24, 32, false},   // 8x8: too few pixels
      {{5, 5}, 20, 24, 32, true},   // 5x5 from 24 channels
      {{5, 5}, 8, 24, 32, false},   // 8x8
      {{1, 7}, 16, 32, 64, true},   // 1-D tiles from 32 x 64 channels
      {{7, 1}, 16, 32, 64, true},   //   along H
      {{1, 3}, 16, 32, 64, true},   //   F(4, 3) along W
      {{3, 1}, 16, 32, 64, true},   //   and along H
      {{1, 7}, 20, 24, 32, false},  // too few channels for 1-D
      {{1, 3}, 8, 32, 64, false},   // 8x8 (Inception's 1x3 layers)
      {{7, 1}, 8, 32, 64, false},   // 8x8
  };
  std::map<std::string, AttrValue> attrs = {{"padding", std::string("SAME")},
                                            {"strides", std::vector<int64_t>{1, 1, 1, 1}},
                                            {"T", DType::kFloat32}};
  for (x86::Isa isa : simd_isas()) {
    SCOPED_TRACE(x86::isa_name(isa));
    x86::force_isa(isa);
    for (const Choice& c : choices) {
      const auto [k_h, k_w] = c.window;
      SCOPED_TRACE(describe(c.window)
                   << "filter, " << c.size << "x" << c.size << " " << c.in_c << " -> " << c.out_c);
      const ConvShape s = shape(1, c.size, c.size, c.in_c, Padding::kSame, c.out_c, c.window);
      const auto in = random_floats(s.input_size(), 21);
      const auto w = random_floats(k_h * k_w * c.in_c * c.out_c, 22);
      const Tensor x = floats({1, c.size, c.size, c.in_c}, in);
      const Tensor filter = floats({k_h, k_w, c.in_c, c.out_c}, w);
      std::vector<float> direct(s.output_size()), winograd(s.output_size());
      x86::conv2d_nhwc(s, in, x86::pack_conv_filter(isa, k_h, k_w, c.in_c, c.out_c, w), {},
                       Activation::kNone, direct, nullptr);
      x86::conv2d_winograd(s, in, x86::pack_winograd_filter(isa, k_h, k_w, c.in_c, c.out_c, w), {},
                           Activation::kNone, winograd, nullptr);
      ASSERT_NE(direct, winograd);
      for (bool on : {true, false}) {
        SCOPED_TRACE(on ? "winograd on" : "winograd off");
        ExecOptions options;
        options.threads = 1;
        options.winograd = on;
        const std::vector<float>& want = on && c.winograd ? winograd : direct;
        Executable constant =
            load_op("Conv2D", {fed_input(DType::kFloat32, x.shape()), constant_input(filter)},
                    attrs, 1, options);
        EXPECT_EQ(floats(constant.run(std::span(&x, 1))[0]), want) << "constant filter";
        Executable fed = load_op(
            "Conv2D",
            {fed_input(DType::kFloat32, x.shape()), fed_input(DType::kFloat32, filter.shape())},
            attrs, 1, options);
        const Tensor feeds[] = {x, filter};
        EXPECT_EQ(floats(fed.run(feeds)[0]), want) << "fed filter";
      }
    }
  }
  x86::force_isa(std::nullopt);
}

}  // namespace
}  // namespace poet::testing
