// The x86 SIMD max and average pooling against the reference kernels, for every ISA this
// machine can run: every pooling layer of Inception v3 and MobileNet v1, odd channel counts,
// tiny images, SAME edges (average over real cells only), strides on odd and even sizes.
// Pooling reads each window in the reference's order, so results must be identical.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engine/thread_pool.h"
#include "kernels/ref/pool.h"
#include "kernels/x86/cpu_features.h"
#include "kernels/x86/pool_nhwc.h"
#include "tests/expect_error.h"
#include "tests/kernel_test_util.h"
#include "tests/op_test_util.h"
#include "tests/window_shapes.h"

namespace poet::testing {
namespace {

namespace x86 = kernels::x86;
using kernels::ConvShape;
using kernels::Padding;
using x86::PoolKind;

// Equal, or both NaN.
void expect_identical(std::span<const float> got, std::span<const float> want) {
  ASSERT_EQ(got.size(), want.size());
  int reported = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (!(got[i] == want[i] || (std::isnan(got[i]) && std::isnan(want[i]))) && reported++ < 5)
      ADD_FAILURE() << "element " << i << ": got " << got[i] << ", want " << want[i];
}

void check_against_reference(PoolKind kind, const ConvShape& s, ThreadPool* pool = nullptr) {
  auto input = random_floats(s.input_size(), 1);
  std::vector<float> want(s.output_size());
  if (kind == PoolKind::kMax) {
    kernels::ref::max_pool(s, input, want);
  } else {
    kernels::ref::avg_pool(s, input, want);
  }
  for (x86::Isa isa : simd_isas()) {
    SCOPED_TRACE(x86::isa_name(isa));
    std::vector<float> got(s.output_size(), NAN);
    x86::pool_nhwc(isa, kind, s, input, got, pool);
    expect_identical(got, want);
  }
}

TEST(PoolSimd, InceptionV3AndMobileNetLayers) {
  ThreadPool pool(2);
  for (const WindowLayer& layer : pool_layers()) {
    SCOPED_TRACE(layer.name);
    const PoolKind kind = layer.op == WindowOp::kMaxPool ? PoolKind::kMax : PoolKind::kAvg;
    check_against_reference(kind, layer.shape(), &pool);
    // Both kinds on every shape: Inception's max pools also cover SAME edges this way.
    check_against_reference(kind == PoolKind::kMax ? PoolKind::kAvg : PoolKind::kMax,
                            layer.shape());
  }
}

TEST(PoolSimd, OddChannelCountsTinyImagesAndStrides) {
  for (PoolKind kind : {PoolKind::kMax, PoolKind::kAvg})
    for (int64_t c : {1, 3, 17, 33, 70})
      for (int64_t size : {1, 2, 8, 9})
        for (int64_t k : {2, 3})
          for (int64_t stride : {1, 2}) {
            SCOPED_TRACE(::testing::Message() << c << " channels, " << size << "x" << size
                                              << " window " << k << " stride " << stride);
            check_against_reference(kind,
                                    window_shape(2, size, size + 1, c, k, stride, Padding::kSame));
            if (size >= k)
              check_against_reference(
                  kind, window_shape(1, size, size + 1, c, k, stride, Padding::kValid));
          }
}

// A pool that writes its channels of a concatenation's output (pixels further apart than its
// channel count), with and without its activation: the reference kernel's and every ISA's,
// on one thread and two, leave the other channels alone.
TEST(PoolSimd, WritesItsChannelsOfAWiderOutput) {
  ThreadPool pool(2);
  const ConvShape s = window_shape(2, 9, 8, 35, 3, 1, Padding::kSame);
  auto input = random_floats(s.input_size(), 1);
  for (PoolKind kind : {PoolKind::kMax, PoolKind::kAvg}) {
    for (kernels::Activation act : {kernels::Activation::kNone, kernels::Activation::kRelu}) {
      SCOPED_TRACE(::testing::Message() << (kind == PoolKind::kMax ? "max" : "average")
                                        << " activation " << static_cast<int>(act));
      std::vector<float> want(s.output_size());
      x86::pool_nhwc(x86::Isa::kRef, kind, s, input, want, nullptr, act);
      for (x86::Isa isa : x86::available_isas()) {
        SCOPED_TRACE(x86::isa_name(isa));
        for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
          auto run = [&](const ConvShape& wide, std::span<float> out) {
            x86::pool_nhwc(isa, kind, wide, input, out, p, act);
          };
          expect_identical(run_into_channel_slice(s, 20, 64, run), want);
        }
      }
    }
  }
}

TEST(PoolSimd, AverageDividesByRealCellsAtSameEdges) {
  // 3x3 image of one channel, 3x3 SAME window: a corner window holds 4 real cells, an edge
  // window 6, the middle one 9.
  ConvShape s = window_shape(1, 3, 3, 1, 3, 1, Padding::kSame);
  std::vector<float> in = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  for (x86::Isa isa : simd_isas()) {
    std::vector<float> out(9);
    x86::pool_nhwc(isa, PoolKind::kAvg, s, in, out, nullptr);
    EXPECT_EQ(out, (std::vector<float>{3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7}));
  }
}

TEST(PoolSimd, AverageWithFusedActivationClampsLikeTheReference) {
  // Inception's pool towers after the optimiser: a 3x3 SAME average then Relu (every channel
  // count covers the 4-vector blocks, single vectors and the masked tail). Inputs in [-10, 14]
  // reach both of Relu6's clamps; a NaN must stay NaN, as in kernels::activate and TensorFlow.
  ThreadPool pool(2);
  for (int64_t c : {5, 32, 70}) {
    ConvShape s = window_shape(2, 7, 6, c, 3, 1, Padding::kSame);
    auto input = random_floats(s.input_size(), 4, -10.f, 14.f);
    input[c + 1] = NAN;  // pixel 1's channel 1 (a NaN window sum for its neighbours)
    std::vector<float> avg(s.output_size());
    kernels::ref::avg_pool(s, input, avg);
    for (kernels::Activation act : {kernels::Activation::kRelu, kernels::Activation::kRelu6}) {
      std::vector<float> want = avg;
      for (float& v : want) v = kernels::activate(v, act);
      ASSERT_TRUE(std::isnan(want[1])) << "pixel 0 averages the NaN";
      for (x86::Isa isa : x86::available_isas()) {
        SCOPED_TRACE(::testing::Message()
                     << c << " channels, " << x86::isa_name(isa)
                     << (act == kernels::Activation::kRelu ? " Relu" : " Relu6"));
        std::vector<float> got(s.output_size(), NAN);
        x86::pool_nhwc(isa, PoolKind::kAvg, s, input, got, &pool, act);
        expect_identical(got, want);
      }
    }
  }
}

TEST(PoolSimd, MaxIgnoresPaddingWithNegativeInputs) {
  ConvShape s = window_shape(1, 2, 2, 1, 3, 1, Padding::kSame);
  std::vector<float> in = {-4, -3, -2, -1};
  for (x86::Isa isa : simd_isas()) {
    std::vector<float> out(4);
    x86::pool_nhwc(isa, PoolKind::kMax, s, in, out, nullptr);
    EXPECT_EQ(out, (std::vector<float>{-1, -1, -1, -1}));
  }
}

TEST(PoolSimd, RejectsMismatchedBuffers) {
  ConvShape s = window_shape(1, 4, 4, 3, 2, 2, Padding::kValid);
  std::vector<float> in(s.input_size() - 1), out(s.output_size());
  expect_error([&] { x86::pool_nhwc(x86::Isa::kRef, PoolKind::kMax, s, in, out, nullptr); },
               "pool_nhwc: buffer sizes (input 47");
}

TEST(PoolSimd, OpsUseNativeKernelOnEveryIsa) {
  std::map<std::string, AttrValue> attrs = {{"padding", std::string("SAME")},
                                            {"ksize", std::vector<int64_t>{1, 3, 3, 1}},
                                            {"strides", std::vector<int64_t>{1, 2, 2, 1}},
                                            {"T", DType::kFloat32}};
  std::vector<Tensor> inputs = {floats({2, 9, 8, 21}, random_floats(2 * 9 * 8 * 21, 3))};
  for (const char* op : {"MaxPool", "AvgPool"}) {
    Tensor want = run_op1(op, inputs, attrs, Backend::kReference);
    for (x86::Isa isa : x86::available_isas()) {
      SCOPED_TRACE(::testing::Message() << op << " " << x86::isa_name(isa));
      x86::force_isa(isa);
      expect_identical(floats(run_op1(op, inputs, attrs, Backend::kNative)), floats(want));
    }
  }
  x86::force_isa(std::nullopt);
}

TEST(PoolSimd, FusedAvgPoolIsAnAverageThenItsActivation) {
  std::map<std::string, AttrValue> attrs = {{"padding", std::string("SAME")},
                                            {"ksize", std::vector<int64_t>{1, 3, 3, 1}},
                                            {"strides", std::vector<int64_t>{1, 1, 1, 1}},
                                            {"T", DType::kFloat32}};
  std::vector<Tensor> inputs = {floats({2, 5, 4, 19}, random_floats(2 * 5 * 4 * 19, 5, -10, 14))};
  const std::vector<float> avg = floats(run_op1("AvgPool", inputs, attrs, Backend::kReference));
  for (const char* act : {"Relu", "Relu6"}) {
    attrs["fused_ops"] = std::vector<std::string>{act};
    std::vector<float> want = avg;
    for (float& v : want)
      v = kernels::activate(
          v, std::string(act) == "Relu" ? kernels::Activation::kRelu : kernels::Activation::kRelu6);
    for (Backend backend : {Backend::kReference, Backend::kNative, Backend::kOneDnn}) {
      SCOPED_TRACE(::testing::Message() << act << " backend " << static_cast<int>(backend));
      const std::vector<float> got = floats(run_op1("_FusedAvgPool", inputs, attrs, backend));
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5f) << i;
    }
  }
  attrs["fused_ops"] = std::vector<std::string>{"BiasAdd"};
  EXPECT_THROW(run_op1("_FusedAvgPool", inputs, attrs, Backend::kNative), Error);
}

TEST(PoolSimd, OpsRunOneDnn) {
  // SAME edges with a 3x3 window on odd sizes (average over real cells only), then a second
  // batch size so the cached primitive is rebuilt for the new shape.
  std::map<std::string, AttrValue> attrs = {{"padding", std::string("SAME")},
                                            {"ksize", std::vector<int64_t>{1, 3, 3, 1}},
                                            {"strides", std::vector<int64_t>{1, 2, 2, 1}},
                                            {"T", DType::kFloat32}};
  for (const char* op : {"MaxPool", "AvgPool"}) {
    Executable exe = load_op(op, {fed_input(DType::kFloat32, PartialShape({-1, 9, 8, 21}))}, attrs,
                             1, Backend::kOneDnn);
    for (int64_t batch : {2, 1}) {
      SCOPED_TRACE(::testing::Message() << op << " batch " << batch);
      Tensor x = floats({batch, 9, 8, 21}, random_floats(batch * 9 * 8 * 21, 4));
      Tensor want = run_op1(op, {x}, attrs, Backend::kReference);
      Tensor got = exe.run(std::span(&x, 1))[0];
      EXPECT_EQ(got.shape(), want.shape());
      std::vector<float> g = floats(got), w = floats(want);
      ASSERT_EQ(g.size(), w.size());
      for (size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], w[i], 1e-6f) << i;
    }
  }
}

}  // namespace
}  // namespace poet::testing
