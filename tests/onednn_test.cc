// The oneDNN backend against the reference kernels (kernels/ref) on every Conv2D, depthwise
// and pooling layer shape of Inception v3 and MobileNet v1 (tests/layer_shapes.h,
// tests/window_shapes.h), on odd shapes, and on the MatMul shapes of the retrained layer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/error.h"
#include "kernels/onednn/conv2d.h"
#include "kernels/onednn/engine.h"
#include "kernels/onednn/inner_product.h"
#include "kernels/onednn/pool.h"
#include "kernels/ref/conv2d.h"
#include "kernels/ref/depthwise_conv2d.h"
#include "kernels/ref/matmul.h"
#include "kernels/ref/pool.h"
#include "tests/expect_error.h"
#include "tests/layer_shapes.h"
#include "tests/window_shapes.h"

namespace poet::kernels {
namespace {

using onednn::ConvKind;
using onednn::PoolKind;
using ::poet::testing::ConvLayer;
using ::poet::testing::error_of;
using ::poet::testing::expect_error;
using ::poet::testing::WindowLayer;

std::vector<float> random_floats(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Sums of `terms` products of values in [-1, 1] are about sqrt(terms) in size; allow 1e-4 of
// that or of the value, whichever is larger.
void expect_close(const std::vector<float>& got, const std::vector<float>& want, int64_t terms) {
  ASSERT_EQ(got.size(), want.size());
  float scale = std::sqrt(static_cast<float>(std::max<int64_t>(terms, 1)));
  int bad = 0;
  for (size_t i = 0; i < got.size() && bad < 5; ++i) {
    float tol = 1e-4f * std::max(std::abs(want[i]), scale);
    if (!(std::abs(got[i] - want[i]) <= tol)) {
      ADD_FAILURE() << "element " << i << ": got " << got[i] << ", want " << want[i];
      ++bad;
    }
  }
}

struct Layer {
  std::string name;
  int64_t batch, in_h, in_w, in_c, k_h, k_w, out_c, stride;
  Padding padding;
  int64_t dilation = 1;
};

ConvShape make_shape(const Layer& l) {
  ConvShape s;
  s.batch = l.batch;
  s.in_h = l.in_h;
  s.in_w = l.in_w;
  s.in_c = l.in_c;
  s.out_c = l.out_c;
  s.k_h = l.k_h;
  s.k_w = l.k_w;
  s.stride_h = s.stride_w = l.stride;
  s.dilation_h = s.dilation_w = l.dilation;
  set_output_geometry(s, l.padding);
  return s;
}

// ---- Conv2D ----

// Inception v3's layer of that name in tests/layer_shapes.h, at batch 1 and full size.
ConvShape inception_layer(std::string_view name) {
  for (const ConvLayer& l : testing::inception_v3_conv_layers())
    if (l.name == name) return l.shape();
  throw Error(str_cat("no Inception v3 layer ", name));
}

void check_conv(const ConvShape& s, bool with_bias, Activation act) {
  std::vector<float> input = random_floats(s.input_size(), 1);
  std::vector<float> filter = random_floats(s.k_h * s.k_w * s.in_c * s.out_c, 2);
  std::vector<float> bias = with_bias ? random_floats(s.out_c, 3) : std::vector<float>{};
  if (act == Activation::kRelu6) {
    for (float& b : bias) b *= 8.f;  // push some outputs above 6
  }
  std::vector<float> want(s.output_size()), got(s.output_size(), -99.f);
  ref::conv2d(s, input, filter, bias, act, want);
  onednn::Conv2dPrimitive conv(s, ConvKind::kDense, filter, bias, act);
  conv.run(input, got);
  expect_close(got, want, s.k_h * s.k_w * s.in_c);
}

const Layer kOddLayers[] = {
    {"3 channels, stride 2 SAME, odd size", 1, 7, 7, 3, 3, 3, 17, 2, Padding::kSame},
    {"17 channels, stride 2 SAME, even size", 1, 8, 8, 17, 3, 3, 5, 2, Padding::kSame},
    {"1x1 stride 2 SAME, even size", 1, 6, 6, 17, 1, 1, 3, 2, Padding::kSame},
    {"2x2 SAME pads only at the end", 1, 5, 5, 3, 2, 2, 4, 1, Padding::kSame},
    {"1x1 spatial, 1x1 kernel", 1, 1, 1, 17, 1, 1, 3, 1, Padding::kValid},
    {"1x1 spatial, 3x3 SAME", 1, 1, 1, 3, 3, 3, 17, 1, Padding::kSame},
    {"dilation 2 SAME", 1, 9, 9, 3, 3, 3, 5, 1, Padding::kSame, 2},
    {"dilation 2 VALID", 1, 9, 10, 4, 2, 3, 5, 1, Padding::kValid, 2},
    {"batch 3", 3, 9, 7, 5, 3, 3, 6, 1, Padding::kSame},
    {"stride 3 VALID, non-square", 2, 11, 8, 6, 3, 2, 7, 3, Padding::kValid},
};

// Every layer's channels and window, on images capped at 17x17 (the channels decide oneDNN's
// blocking; full-size images would only slow the reference down).
TEST(OneDnnConv2d, InceptionAndMobileNetLayersMatchReference) {
  for (const auto* layers :
       {&testing::inception_v3_conv_layers(), &testing::mobilenet_v1_conv_layers(),
        &testing::mobilenet_v1_025_conv_layers()})
    for (const ConvLayer& l : *layers) {
      SCOPED_TRACE(l.name);
      check_conv(l.shape(/*max_spatial=*/17), false, Activation::kNone);
    }
}

// Full-size images too: oneDNN blocks and tails along the width as well.
TEST(OneDnnConv2d, FullSizeInceptionLayersMatchReference) {
  for (const char* name :
       {"Conv2d_2b_3x3", "Conv2d_4a_3x3", "Mixed_5b_5x5", "Mixed_6a_3x3_s2_384"}) {
    SCOPED_TRACE(name);
    check_conv(inception_layer(name), false, Activation::kNone);
  }
}

TEST(OneDnnConv2d, OddShapesMatchReference) {
  for (const Layer& l : kOddLayers) {
    SCOPED_TRACE(l.name);
    check_conv(make_shape(l), false, Activation::kNone);
  }
}

TEST(OneDnnConv2d, BiasAndActivationsAreFused) {
  for (Activation act : {Activation::kNone, Activation::kRelu, Activation::kRelu6}) {
    check_conv(make_shape(kOddLayers[0]), true, act);
    check_conv(inception_layer("Mixed_5b_1x1_64"), true, act);
  }
}

TEST(OneDnnConv2d, HandCheckedSamePadding) {
  // 3x3 image 1..9, all-ones 2x2 filter, SAME: the extra padding row/column is at the end.
  ConvShape s = make_shape({"", 1, 3, 3, 1, 2, 2, 1, 1, Padding::kSame});
  std::vector<float> input{1, 2, 3, 4, 5, 6, 7, 8, 9}, out(9);
  std::vector<float> filter(4, 1.f);
  onednn::Conv2dPrimitive(s, ConvKind::kDense, filter, {}, Activation::kNone).run(input, out);
  EXPECT_EQ(out, (std::vector<float>{12, 16, 9, 24, 28, 15, 15, 17, 9}));
}

TEST(OneDnnConv2d, PrimitiveRunsRepeatedlyOnNewData) {
  ConvShape s = make_shape(kOddLayers[0]);
  std::vector<float> filter = random_floats(s.k_h * s.k_w * s.in_c * s.out_c, 2);
  onednn::Conv2dPrimitive conv(s, ConvKind::kDense, filter, {}, Activation::kNone);
  filter.assign(filter.size(), 0.f);  // the primitive keeps its own reordered copy
  for (uint32_t seed : {5u, 6u}) {
    std::vector<float> input = random_floats(s.input_size(), seed);
    std::vector<float> want(s.output_size()), got(s.output_size());
    ref::conv2d(s, input, random_floats(s.k_h * s.k_w * s.in_c * s.out_c, 2), {}, Activation::kNone,
                want);
    conv.run(input, got);
    expect_close(got, want, s.k_h * s.k_w * s.in_c);
  }
}

TEST(OneDnnConv2d, OnePrimitiveRunsOnSeveralThreadsAtOnce) {
  // Each thread brings its own stream and scratchpad; the primitive itself is shared.
  ConvShape s = inception_layer("Mixed_5b_5x5");
  std::vector<float> filter = random_floats(s.k_h * s.k_w * s.in_c * s.out_c, 2);
  onednn::Conv2dPrimitive conv(s, ConvKind::kDense, filter, {}, Activation::kNone);
  std::vector<std::vector<float>> inputs, outputs;
  for (uint32_t seed = 0; seed < 3; ++seed) {
    inputs.push_back(random_floats(s.input_size(), 40 + seed));
    outputs.emplace_back(s.output_size());
  }
  {
    std::vector<std::jthread> threads;
    for (size_t i = 0; i < inputs.size(); ++i)
      threads.emplace_back([&, i] {
        for (int rep = 0; rep < 3; ++rep) conv.run(inputs[i], outputs[i]);
      });
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::vector<float> want(s.output_size());
    ref::conv2d(s, inputs[i], filter, {}, Activation::kNone, want);
    expect_close(outputs[i], want, s.k_h * s.k_w * s.in_c);
  }
}

TEST(OneDnnConv2d, RejectsWrongSizes) {
  ConvShape s = make_shape({"", 1, 4, 4, 2, 3, 3, 3, 1, Padding::kSame});
  std::vector<float> filter(3 * 3 * 2 * 3), input(32), output(48);
  EXPECT_EQ(error_of([&] {
              onednn::Conv2dPrimitive(s, ConvKind::kDense, std::span(filter).first(10), {},
                                      Activation::kNone);
            }),
            "oneDNN kernel for input 1x4x4x2, window 3x3, stride 1x1, dilation 1x1, pad "
            "top 1 left 1, output 1x4x4x3: filter has 10 floats, expected 54");
  onednn::Conv2dPrimitive conv(s, ConvKind::kDense, filter, {}, Activation::kNone);
  EXPECT_THROW(conv.run(std::span(input).first(31), output), Error);
  EXPECT_THROW(conv.run(input, std::span(output).first(47)), Error);
  std::vector<float> bias(2);
  EXPECT_THROW(onednn::Conv2dPrimitive(s, ConvKind::kDense, filter, bias, Activation::kNone),
               Error);
}

TEST(OneDnnConv2d, OneDnnErrorsNameTheLayer) {
  ConvShape s = make_shape({"", 1, 4, 4, 2, 3, 3, 3, 1, Padding::kSame});
  s.stride_h = 0;  // oneDNN refuses the descriptor
  std::vector<float> filter(3 * 3 * 2 * 3);
  expect_error([&] { onednn::Conv2dPrimitive(s, ConvKind::kDense, filter, {}, Activation::kNone); },
               "oneDNN convolution for input 1x4x4x2");
}

TEST(OneDnnConv2d, EmptyOutputIsANoOp) {
  ConvShape s = make_shape({"", 1, 2, 2, 3, 3, 3, 4, 1, Padding::kValid});
  ASSERT_EQ(s.out_h, 0);
  std::vector<float> filter(3 * 3 * 3 * 4), input(12);
  onednn::Conv2dPrimitive(s, ConvKind::kDense, filter, {}, Activation::kNone).run(input, {});
}

TEST(OneDnnConv2d, ThreadCountIsConfigurable) {
  onednn::set_num_threads(1);
  EXPECT_EQ(onednn::num_threads(), 1);
  check_conv(inception_layer("Mixed_5b_1x1_64"), true, Activation::kRelu);
  onednn::set_num_threads(2);
  EXPECT_EQ(onednn::num_threads(), 2);
  check_conv(inception_layer("Mixed_5b_1x1_64"), true, Activation::kRelu);
  onednn::set_num_threads(0);
  EXPECT_GE(onednn::num_threads(), 1);
}

// ---- Depthwise ----

void check_depthwise(const ConvShape& s, bool with_bias, Activation act) {
  std::vector<float> input = random_floats(s.input_size(), 11);
  std::vector<float> filter = random_floats(s.k_h * s.k_w * s.out_c, 12);
  std::vector<float> bias = with_bias ? random_floats(s.out_c, 13) : std::vector<float>{};
  for (float& b : bias) b *= 8.f;
  std::vector<float> want(s.output_size()), got(s.output_size(), -99.f);
  ref::depthwise_conv2d(s, input, filter, bias, act, want);
  onednn::Conv2dPrimitive(s, ConvKind::kDepthwise, filter, bias, act).run(input, got);
  expect_close(got, want, s.k_h * s.k_w);
}

TEST(OneDnnDepthwise, MobileNetLayersMatchReference) {
  for (const auto& [resolution, width_percent] : {std::pair{224, 100}, {128, 25}})
    for (const WindowLayer& l : testing::mobilenet_v1_depthwise_layers(resolution, width_percent)) {
      SCOPED_TRACE(l.name);
      check_depthwise(l.shape(), true, Activation::kRelu6);
    }
}

TEST(OneDnnDepthwise, OddShapesMatchReference) {
  for (const Layer& l : {
           Layer{"multiplier 2, 3 channels, odd size stride 2", 1, 7, 7, 3, 3, 3, 6, 2,
                 Padding::kSame},
           Layer{"multiplier 3, 17 channels VALID", 2, 6, 5, 17, 3, 3, 51, 1, Padding::kValid},
           Layer{"1x1 spatial", 1, 1, 1, 17, 3, 3, 17, 1, Padding::kSame},
           Layer{"dilation 2", 1, 9, 9, 5, 3, 3, 5, 1, Padding::kSame, 2},
           Layer{"stride 2 SAME on even size, 2x2 window", 1, 6, 6, 4, 2, 2, 4, 2, Padding::kSame},
       }) {
    SCOPED_TRACE(l.name);
    check_depthwise(make_shape(l), false, Activation::kNone);
    check_depthwise(make_shape(l), true, Activation::kRelu);
  }
}

TEST(OneDnnDepthwise, HandChecked) {
  // Two channels, multiplier 1, 2x2 VALID on 2x2: one output per channel.
  ConvShape s = make_shape({"", 1, 2, 2, 2, 2, 2, 2, 1, Padding::kValid});
  std::vector<float> input{1, 10, 2, 20, 3, 30, 4, 40};  // NHWC
  std::vector<float> filter{1, 0, 1, 0, 1, 0, 1, 1};     // [ky][kx][c]
  std::vector<float> out(2);
  onednn::Conv2dPrimitive(s, ConvKind::kDepthwise, filter, {}, Activation::kNone).run(input, out);
  EXPECT_EQ(out, (std::vector<float>{1 + 2 + 3 + 4, 40}));
}

TEST(OneDnnDepthwise, RejectsChannelMismatch) {
  ConvShape s = make_shape({"", 1, 4, 4, 3, 3, 3, 5, 1, Padding::kSame});
  std::vector<float> filter(3 * 3 * 5);
  expect_error(
      [&] { onednn::Conv2dPrimitive(s, ConvKind::kDepthwise, filter, {}, Activation::kNone); },
      "5 output channels is not a multiple of 3");
}

// ---- Pooling ----

// Both kinds against the reference; every input negative, so that a padded cell read as 0
// would win every border max.
void check_pool(const ConvShape& s) {
  std::vector<float> input = random_floats(s.input_size(), 21);
  for (float& v : input) v = -2.f + v;
  std::vector<float> want(s.output_size()), got(s.output_size(), -99.f);
  ref::max_pool(s, input, want);
  onednn::Pool2dPrimitive(s, PoolKind::kMax).run(input, got);
  expect_close(got, want, 1);
  ref::avg_pool(s, input, want);
  onednn::Pool2dPrimitive(s, PoolKind::kAverage).run(input, got);
  expect_close(got, want, 1);
}

TEST(OneDnnPool, InceptionAndMobileNetLayersMatchReference) {
  for (const WindowLayer& l : testing::pool_layers()) {
    SCOPED_TRACE(l.name);
    check_pool(l.shape());
  }
}

TEST(OneDnnPool, OddShapesMatchReference) {
  for (const Layer& l : {
           Layer{"odd size 2x2 stride 2 SAME", 2, 5, 5, 3, 2, 2, 3, 2, Padding::kSame},
           Layer{"even size 3x3 stride 2 SAME", 1, 6, 6, 17, 3, 3, 17, 2, Padding::kSame},
           Layer{"1x1 spatial 3x3 SAME", 1, 1, 1, 17, 3, 3, 17, 1, Padding::kSame},
       }) {
    SCOPED_TRACE(l.name);
    check_pool(make_shape(l));
  }
}

TEST(OneDnnPool, AverageExcludesPadding) {
  // 2x2 image, 2x2 window, SAME stride 1: the last column/row windows hold fewer cells.
  ConvShape s = make_shape({"", 1, 2, 2, 1, 2, 2, 1, 1, Padding::kSame});
  std::vector<float> input{1, 2, 3, 4}, out(4);
  onednn::Pool2dPrimitive(s, PoolKind::kAverage).run(input, out);
  EXPECT_EQ(out, (std::vector<float>{2.5f, 3.f, 3.5f, 4.f}));
  onednn::Pool2dPrimitive(s, PoolKind::kMax).run(input, out);
  EXPECT_EQ(out, (std::vector<float>{4, 4, 4, 4}));
}

TEST(OneDnnPool, RejectsChannelChange) {
  ConvShape s = make_shape({"", 1, 4, 4, 3, 2, 2, 4, 1, Padding::kSame});
  EXPECT_THROW(onednn::Pool2dPrimitive(s, PoolKind::kMax), Error);
}

// ---- Inner product ----

// The reference product, then the bias and activation the primitive fuses.
std::vector<float> reference_inner_product(onednn::MatMulShape s, const std::vector<float>& a,
                                           const std::vector<float>& b, bool transpose_b,
                                           const std::vector<float>& bias, Activation act) {
  std::vector<float> out(s.m * s.n);
  ref::matmul(a, b, s.m, s.n, s.k, false, transpose_b, out);
  for (int64_t i = 0; i < s.m * s.n; ++i) out[i] = activate(out[i] + bias[i % s.n], act);
  return out;
}

// Inception v3 2015's softmax layer (2048 -> 1008), MobileNet's logits as a product, a
// retrained layer of 5 classes at batch 1 and 100 (retrain.py's train batch), odd sizes.
TEST(OneDnnInnerProduct, MatchesReference) {
  for (onednn::MatMulShape s : {onednn::MatMulShape{1, 2048, 1008},
                                {1, 1024, 1001},
                                {1, 2048, 5},
                                {100, 2048, 5},
                                {3, 7, 5},
                                {1, 1, 1},
                                {17, 3, 17}}) {
    for (bool transpose_b : {false, true}) {
      for (Activation act : {Activation::kNone, Activation::kRelu}) {
        SCOPED_TRACE(str_cat(s.m, "x", s.k, "x", s.n, transpose_b ? " transposed" : ""));
        std::vector<float> a = random_floats(s.m * s.k, 31), b = random_floats(s.k * s.n, 32);
        std::vector<float> bias = random_floats(s.n, 33), got(s.m * s.n, -99.f);
        onednn::InnerProductPrimitive(s, b, transpose_b, bias, act).run(a, got);
        expect_close(got, reference_inner_product(s, a, b, transpose_b, bias, act), s.k);
      }
    }
  }
}

TEST(OneDnnInnerProduct, HandChecked) {
  // [1 2; 3 4] x [1 0 1; 0 1 1] + [10 20 30].
  std::vector<float> a{1, 2, 3, 4}, b{1, 0, 1, 0, 1, 1}, bias{10, 20, 30}, out(6);
  onednn::InnerProductPrimitive({2, 2, 3}, b, false, bias, Activation::kNone).run(a, out);
  EXPECT_EQ(out, (std::vector<float>{11, 22, 33, 13, 24, 37}));
  std::vector<float> no_bias;
  onednn::InnerProductPrimitive({2, 2, 3}, b, false, no_bias, Activation::kNone).run(a, out);
  EXPECT_EQ(out, (std::vector<float>{1, 2, 3, 3, 4, 7}));
}

TEST(OneDnnInnerProduct, RejectsWrongSizes) {
  std::vector<float> b(6), a(4), out(6);
  EXPECT_THROW(
      onednn::InnerProductPrimitive({2, 2, 3}, std::span(b).first(5), false, {}, Activation::kNone),
      Error);
  onednn::InnerProductPrimitive ip({2, 2, 3}, b, false, {}, Activation::kNone);
  EXPECT_THROW(ip.run(std::span(a).first(3), out), Error);
}

}  // namespace
}  // namespace poet::kernels
