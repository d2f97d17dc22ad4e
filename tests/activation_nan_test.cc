// Relu and Relu6 as TensorFlow computes them on the CPU (Eigen's cwiseMax(0), then
// cwiseMin(6): (x < 0) ? 0 : x, then (6 < y) ? 6 : y), so a NaN stays NaN and -0.0 stays -0.0:
// standalone on every backend and ISA, and fused into the epilogue of every kernel that applies
// an activation (direct and Winograd convolution, depthwise, the fused average pool). oneDNN's
// convolution and inner product fuse oneDNN's own post-ops, which give 0 for NaN. Softmax's NaN
// rows are in softmax_simd_test.cc.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "engine/thread_pool.h"
#include "kernels/onednn/conv2d.h"
#include "kernels/onednn/inner_product.h"
#include "kernels/ref/conv2d.h"
#include "kernels/ref/depthwise_conv2d.h"
#include "kernels/ref/pool.h"
#include "kernels/x86/conv2d_nhwc.h"
#include "kernels/x86/conv2d_winograd.h"
#include "kernels/x86/cpu_features.h"
#include "kernels/x86/depthwise_conv2d_nhwc.h"
#include "kernels/x86/elementwise.h"
#include "kernels/x86/pool_nhwc.h"
#include "tests/kernel_test_util.h"
#include "tests/op_test_util.h"

namespace poet::testing {
namespace {

namespace x86 = kernels::x86;
namespace onednn = kernels::onednn;
using kernels::Activation;
using kernels::ConvShape;
using kernels::Padding;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// TensorFlow's functors, written out here rather than taken from kernels::activate.
float tf_activate(float x, Activation act) {
  if (act == Activation::kNone) return x;
  const float y = x < 0.f ? 0.f : x;
  return act == Activation::kRelu6 && 6.f < y ? 6.f : y;
}

const char* name(Activation act) { return act == Activation::kRelu ? "Relu" : "Relu6"; }

// The values whose handling differs between max(x, 0) and TensorFlow's, and the ordinary ones.
const std::vector<float> kSpecial = {kNaN, -kNaN, -0.f, 0.f, -1.f, 0.5f, 6.f, 7.f, kInf, -kInf};

// 37 floats (two whole AVX-512 or four AVX2 vectors, then a 5-lane tail) with kSpecial at 3..12
// (the vector body) and 27..36 (across the last whole vector into the tail).
std::vector<float> with_special_values() {
  std::vector<float> in = random_floats(37, 11, -8.f, 8.f);
  for (size_t k = 0; k < kSpecial.size(); ++k) in[3 + k] = in[27 + k] = kSpecial[k];
  return in;
}

// The same float, bit for bit: NaN for NaN, -0.0 only for -0.0.
void expect_same_bits(std::span<const float> got, std::span<const float> want) {
  ASSERT_EQ(got.size(), want.size());
  int reported = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (std::bit_cast<uint32_t>(got[i]) != std::bit_cast<uint32_t>(want[i]) && reported++ < 5)
      ADD_FAILURE() << "element " << i << ": got " << got[i] << ", want " << want[i];
}

// NaN exactly where `want` has NaN (at least `min_nans`), elsewhere within rounding of it.
void expect_nan_where_wanted(std::span<const float> got, std::span<const float> want,
                             int min_nans = 1) {
  ASSERT_EQ(got.size(), want.size());
  int nans = 0, reported = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    nans += std::isnan(want[i]);
    const bool ok = std::isnan(want[i])
                        ? std::isnan(got[i])
                        : std::abs(got[i] - want[i]) <= 1e-4f * std::max(1.f, std::abs(want[i]));
    if (!ok && reported++ < 5)
      ADD_FAILURE() << "element " << i << ": got " << got[i] << ", want " << want[i];
  }
  EXPECT_GE(nans, min_nans) << "the case has no NaN to check";
}

// What oneDNN's fused relu and clip post-ops give: 0 for NaN (their vmaxps returns the 0).
// The oneDNN backend keeps them: applying poet's activation in a pass after the primitive made
// oneDNN's Inception v3 8-12% slower, the baseline native is measured against.
void expect_onednn_activation(std::span<const float> got, std::vector<float> want) {
  for (float& v : want)
    if (std::isnan(v)) v = 0.f;
  expect_nan_where_wanted(got, want, 0);
}

std::vector<float> activated(std::vector<float> v, Activation act) {
  for (float& x : v) x = tf_activate(x, act);
  return v;
}

TEST(ActivationNan, ScalarActivateIsTensorFlows) {
  for (Activation act : {Activation::kRelu, Activation::kRelu6}) {
    SCOPED_TRACE(name(act));
    std::vector<float> got;
    for (float x : kSpecial) got.push_back(kernels::activate(x, act));
    const std::vector<float> want =
        act == Activation::kRelu
            ? std::vector<float>{kNaN, -kNaN, -0.f, 0.f, 0.f, 0.5f, 6.f, 7.f, kInf, 0.f}
            : std::vector<float>{kNaN, -kNaN, -0.f, 0.f, 0.f, 0.5f, 6.f, 6.f, 6.f, 0.f};
    expect_same_bits(got, want);
  }
}

TEST(ActivationNan, ElementwiseKernelOnEveryIsa) {
  const std::vector<float> in = with_special_values();
  for (Activation act : {Activation::kRelu, Activation::kRelu6})
    for (x86::Isa isa : x86::available_isas())
      for (size_t n : {size_t{13}, in.size()}) {  // under one AVX-512 vector; whole
        SCOPED_TRACE(::testing::Message() << name(act) << " " << x86::isa_name(isa) << " " << n);
        std::vector<float> got(n, 1234.f);
        x86::activation(isa, act, std::span(in).first(n), got, nullptr);
        expect_same_bits(got, activated({in.begin(), in.begin() + n}, act));
      }
}

TEST(ActivationNan, ReluOpsOnEveryBackend) {
  const std::vector<float> in = with_special_values();
  const Tensor x = floats({1, 37}, in);
  for (Activation act : {Activation::kRelu, Activation::kRelu6}) {
    const std::vector<float> want = activated(in, act);
    for (Backend backend : {Backend::kReference, Backend::kNative, Backend::kOneDnn})
      for (x86::Isa isa : x86::available_isas()) {
        SCOPED_TRACE(::testing::Message()
                     << name(act) << " backend " << int(backend) << " " << x86::isa_name(isa));
        x86::force_isa(isa);
        Executable exe = load_op(name(act), {fed_input(DType::kFloat32, x.shape())},
                                 {{"T", DType::kFloat32}}, 1, backend);
        expect_same_bits(floats(exe.run(std::span(&x, 1))[0]), want);
      }
  }
  x86::force_isa(std::nullopt);
}

ConvShape conv_shape(int64_t h, int64_t w, int64_t in_c, int64_t k, int64_t out_c) {
  ConvShape s;
  s.batch = 2;
  s.in_h = h;
  s.in_w = w;
  s.in_c = in_c;
  s.k_h = s.k_w = k;
  s.out_c = out_c;
  kernels::set_output_geometry(s, Padding::kSame);
  return s;
}

// A bias of `channels` (37: a tail past the last whole vector) with NaN in the vector body
// (channel 2) and the tail (34), and values that clamp at 0 (3) and at 6 (4).
std::vector<float> nan_bias(int64_t channels) {
  std::vector<float> bias = random_floats(channels, 12);
  bias[2] = bias[34] = kNaN;
  bias[3] = -100.f;
  bias[4] = 100.f;
  return bias;
}

// The layer's output before its activation, from the reference (plain arithmetic: a NaN bias
// gives NaN), then TensorFlow's activation.
std::vector<float> want_conv(const ConvShape& s, bool depthwise, std::span<const float> input,
                             std::span<const float> filter, std::span<const float> bias,
                             Activation act) {
  std::vector<float> out(s.output_size());
  if (depthwise) {
    kernels::ref::depthwise_conv2d(s, input, filter, bias, Activation::kNone, out);
  } else {
    kernels::ref::conv2d(s, input, filter, bias, Activation::kNone, out);
  }
  return activated(std::move(out), act);
}

TEST(ActivationNan, ConvolutionEpiloguesOnEveryIsaAndBackend) {
  ThreadPool pool(2);
  for (Activation act : {Activation::kRelu, Activation::kRelu6})
    for (int64_t k : {1, 3}) {
      const ConvShape s = conv_shape(5, 6, 19, k, 37);
      const auto input = random_floats(s.input_size(), 13);
      const auto filter = random_floats(k * k * s.in_c * s.out_c, 14);
      const auto bias = nan_bias(s.out_c);
      const auto want = want_conv(s, false, input, filter, bias, act);
      SCOPED_TRACE(::testing::Message() << name(act) << " " << k << "x" << k);
      std::vector<float> got(s.output_size(), 1234.f);
      {
        SCOPED_TRACE("reference");
        kernels::ref::conv2d(s, input, filter, bias, act, got);
        expect_nan_where_wanted(got, want);
      }
      {
        SCOPED_TRACE("oneDNN");
        std::fill(got.begin(), got.end(), 1234.f);
        onednn::Conv2dPrimitive(s, onednn::ConvKind::kDense, filter, bias, act).run(input, got);
        expect_onednn_activation(got, want);
      }
      for (x86::Isa isa : simd_isas()) {
        SCOPED_TRACE(x86::isa_name(isa));
        auto packed = x86::pack_conv_filter(isa, k, k, s.in_c, s.out_c, filter);
        for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
          std::fill(got.begin(), got.end(), 1234.f);
          x86::conv2d_nhwc(s, input, packed, bias, act, got, p);
          expect_nan_where_wanted(got, want);
        }
        if (x86::winograd_applies(s)) {
          SCOPED_TRACE("Winograd");
          auto wino = x86::pack_winograd_filter(isa, k, k, s.in_c, s.out_c, filter);
          std::fill(got.begin(), got.end(), 1234.f);
          x86::conv2d_winograd(s, input, wino, bias, act, got, &pool);
          expect_nan_where_wanted(got, want);
        }
      }
    }
}

TEST(ActivationNan, DepthwiseEpiloguesOnEveryIsaAndBackend) {
  for (Activation act : {Activation::kRelu, Activation::kRelu6}) {
    SCOPED_TRACE(name(act));
    const ConvShape s = conv_shape(5, 6, 37, 3, 37);
    const auto input = random_floats(s.input_size(), 15);
    const auto filter = random_floats(9 * s.in_c, 16);
    const auto bias = nan_bias(s.out_c);
    const auto want = want_conv(s, true, input, filter, bias, act);
    std::vector<float> got(s.output_size(), 1234.f);
    kernels::ref::depthwise_conv2d(s, input, filter, bias, act, got);
    expect_nan_where_wanted(got, want);
    std::fill(got.begin(), got.end(), 1234.f);
    onednn::Conv2dPrimitive(s, onednn::ConvKind::kDepthwise, filter, bias, act).run(input, got);
    expect_onednn_activation(got, want);
    for (x86::Isa isa : simd_isas()) {
      SCOPED_TRACE(x86::isa_name(isa));
      std::fill(got.begin(), got.end(), 1234.f);
      x86::depthwise_conv2d_nhwc(isa, s, input, filter, bias, act, got, nullptr);
      expect_nan_where_wanted(got, want);
    }
  }
}

TEST(ActivationNan, FusedAveragePoolOnEveryIsa) {
  ConvShape s = conv_shape(5, 6, 37, 3, 37);
  auto input = random_floats(s.input_size(), 17, -8.f, 8.f);
  input[(1 * 6 + 2) * 37 + 2] = kNaN;  // image 0, pixel (1, 2), channel 2 (vector body)
  input[(30 + 7) * 37 + 35] = kNaN;    // image 1, pixel (1, 1), channel 35 (tail)
  for (Activation act : {Activation::kRelu, Activation::kRelu6}) {
    SCOPED_TRACE(name(act));
    std::vector<float> want(s.output_size());
    kernels::ref::avg_pool(s, input, want);
    want = activated(std::move(want), act);
    for (x86::Isa isa : x86::available_isas()) {
      SCOPED_TRACE(x86::isa_name(isa));
      std::vector<float> got(s.output_size(), 1234.f);
      x86::pool_nhwc(isa, x86::PoolKind::kAvg, s, input, got, nullptr, act);
      expect_nan_where_wanted(got, want);
    }
  }
}

TEST(ActivationNan, OneDnnInnerProductGivesZeroForNan) {
  const onednn::MatMulShape s{3, 19, 37};
  const auto a = random_floats(s.m * s.k, 18), b = random_floats(s.k * s.n, 19);
  const auto bias = nan_bias(s.n);
  for (Activation act : {Activation::kRelu, Activation::kRelu6}) {
    SCOPED_TRACE(name(act));
    std::vector<float> want(s.m * s.n);
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t j = 0; j < s.n; ++j) {
        float sum = bias[j];
        for (int64_t l = 0; l < s.k; ++l) sum += a[i * s.k + l] * b[l * s.n + j];
        want[i * s.n + j] = tf_activate(sum, act);
      }
    std::vector<float> got(want.size(), 1234.f);
    onednn::InnerProductPrimitive(s, b, false, bias, act).run(a, got);
    expect_onednn_activation(got, want);
  }
}

// The fused ops as a graph runs them: every backend, every ISA.
TEST(ActivationNan, FusedOpsOnEveryBackend) {
  const ConvShape s = conv_shape(5, 6, 37, 3, 37);
  const Tensor x = floats({2, 5, 6, 37}, random_floats(s.input_size(), 20));
  const auto bias = nan_bias(37);
  const auto dense = random_floats(9 * 37 * 37, 21), depthwise = random_floats(9 * 37, 22);
  for (bool is_depthwise : {false, true})
    for (Activation act : {Activation::kRelu, Activation::kRelu6}) {
      const auto& filter = is_depthwise ? depthwise : dense;
      const auto want = want_conv(s, is_depthwise, floats(x), filter, bias, act);
      const Tensor w =
          is_depthwise ? floats({3, 3, 37, 1}, filter) : floats({3, 3, 37, 37}, filter);
      const std::map<std::string, AttrValue> attrs = {
          {"padding", std::string("SAME")},
          {"strides", std::vector<int64_t>{1, 1, 1, 1}},
          {"T", DType::kFloat32},
          {"fused_ops", std::vector<std::string>{"BiasAdd", name(act)}},
          {"num_args", int64_t{1}}};
      const char* op = is_depthwise ? "_FusedDepthwiseConv2dNative" : "_FusedConv2D";
      for (Backend backend : {Backend::kReference, Backend::kNative, Backend::kOneDnn})
        for (x86::Isa isa : x86::available_isas()) {
          SCOPED_TRACE(::testing::Message() << op << " " << name(act) << " backend " << int(backend)
                                            << " " << x86::isa_name(isa));
          x86::force_isa(isa);
          Executable exe = load_op(op,
                                   {fed_input(DType::kFloat32, x.shape()), constant_input(w),
                                    constant_input(floats({37}, bias))},
                                   attrs, 1, backend);
          const std::vector<float> got = floats(exe.run(std::span(&x, 1))[0]);
          if (backend == Backend::kOneDnn) {
            expect_onednn_activation(got, want);
          } else {
            expect_nan_where_wanted(got, want);
          }
        }
    }
  x86::force_isa(std::nullopt);
}

}  // namespace
}  // namespace poet::testing
