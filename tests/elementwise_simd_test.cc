// The x86 SIMD element-wise kernels (Add/Sub/Mul/RealDiv with a same-size, per-channel or
// scalar operand; Relu, Relu6) against the reference, bit for bit, on every ISA this machine
// can run, directly and through the ops (which keep general broadcasting on the reference).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>

#include "engine/thread_pool.h"
#include "kernels/ref/unary_elementwise.h"
#include "kernels/x86/cpu_features.h"
#include "kernels/x86/elementwise.h"
#include "tests/kernel_test_util.h"
#include "tests/op_test_util.h"

namespace poet::testing {
namespace {

namespace x86 = kernels::x86;
using kernels::Activation;
using kernels::ref::BinaryOp;

Tensor random_tensor(Shape shape, uint32_t seed) {
  const int64_t n = num_elements(shape);
  return floats(std::move(shape), random_floats(n, seed, -8.f, 8.f));
}

TEST(ElementwiseSimd, BinaryKernelsMatchTheReference) {
  ThreadPool pool(2);
  for (BinaryOp op : {BinaryOp::kAdd, BinaryOp::kSub, BinaryOp::kMul, BinaryOp::kDiv})
    for (int64_t channels : {1, 3, 17, 32, 70, 1024})
      for (int64_t pixels : {1, 5, 300}) {
        const int64_t n = channels * pixels;
        auto a = random_floats(n, 1, -8.f, 8.f), b = random_floats(channels, 2, -8.f, 8.f);
        std::vector<float> want(n);
        const int64_t a_shape[] = {pixels, channels};
        kernels::ref::binary_elementwise<float>(op, a_shape, a, std::span(a_shape).last(1), b,
                                                a_shape, want);
        for (x86::Isa isa : x86::available_isas()) {
          if (isa == x86::Isa::kRef) continue;  // the reference itself
          SCOPED_TRACE(::testing::Message() << x86::isa_name(isa) << " op " << int(op) << " "
                                            << pixels << "x" << channels);
          std::vector<float> got(n, NAN);
          x86::binary_repeating(isa, op, a, b, got, &pool);
          EXPECT_EQ(got, want);
        }
      }
  std::vector<float> a(6), b(4), out(6);
  EXPECT_THROW(x86::binary_repeating(x86::Isa::kRef, BinaryOp::kAdd, a, b, out, nullptr), Error);
  EXPECT_THROW(x86::binary_repeating(x86::Isa::kRef, BinaryOp::kMaximum, a, a, out, nullptr),
               Error);
}

TEST(ElementwiseSimd, ActivationsClampLikeTheReference) {
  auto in = random_floats(1000, 3, -8.f, 8.f);
  in[0] = NAN;
  in[1] = 6.f;
  in[2] = -0.f;
  for (Activation act : {Activation::kRelu, Activation::kRelu6}) {
    std::vector<float> want(in.size());
    kernels::ref::unary_elementwise(
        act == Activation::kRelu ? kernels::ref::UnaryOp::kRelu : kernels::ref::UnaryOp::kRelu6, in,
        want);
    for (x86::Isa isa : x86::available_isas())
      for (size_t n : {size_t{1}, size_t{13}, in.size()}) {
        std::vector<float> got(n, NAN);
        x86::activation(isa, act, std::span(in).first(n), got, nullptr);
        // Bit for bit: NaN stays NaN and -0.0 stays -0.0 (ActivationNan checks TensorFlow's).
        for (size_t i = 0; i < n; ++i)
          EXPECT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(want[i]))
              << x86::isa_name(isa) << " element " << i << ": " << got[i] << " for " << in[i];
      }
  }
}

// The ops on the native backend (every ISA) give what the reference backend gives, for the
// operand shapes the SIMD path takes and for those it leaves to the reference.
TEST(ElementwiseSimd, OpsMatchTheReferenceBackend) {
  const std::pair<Shape, Shape> shapes[] = {
      {{2, 5, 7, 19}, {2, 5, 7, 19}},  // same shape
      {{2, 5, 7, 19}, {19}},           // per channel
      {{2, 5, 7, 19}, {1, 1, 1, 19}},  // per channel, kept dims
      {{19}, {2, 5, 7, 19}},           // per channel first: swapped for Add/Mul only
      {{2, 5, 7, 19}, {}},             // scalar
      {{2, 5, 7, 19}, {5, 1, 1}},      // general broadcasting: the reference
  };
  for (const char* op : {"Add", "Sub", "Mul", "RealDiv"})
    for (const auto& [sa, sb] : shapes) {
      std::vector<Tensor> inputs = {random_tensor(sa, 4), random_tensor(sb, 5)};
      Tensor want = run_op1(op, inputs, {{"T", DType::kFloat32}}, Backend::kReference);
      for (x86::Isa isa : x86::available_isas()) {
        SCOPED_TRACE(::testing::Message() << op << " " << x86::isa_name(isa) << " "
                                          << shape_string(sa) << " " << shape_string(sb));
        x86::force_isa(isa);
        Tensor got = run_op1(op, inputs, {{"T", DType::kFloat32}}, Backend::kNative);
        EXPECT_EQ(got.shape(), want.shape());
        EXPECT_EQ(floats(got), floats(want));
      }
    }
  for (const char* op : {"Relu", "Relu6"}) {
    std::vector<Tensor> inputs = {random_tensor({3, 4, 5, 33}, 6)};
    Tensor want = run_op1(op, inputs, {{"T", DType::kFloat32}}, Backend::kReference);
    for (x86::Isa isa : x86::available_isas()) {
      x86::force_isa(isa);
      EXPECT_EQ(floats(run_op1(op, inputs, {{"T", DType::kFloat32}}, Backend::kNative)),
                floats(want))
          << op << " " << x86::isa_name(isa);
    }
  }
  x86::force_isa(std::nullopt);
}

}  // namespace
}  // namespace poet::testing
