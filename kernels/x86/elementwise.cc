// The ISA-independent half of the fast element-wise ops: checks, Isa::kRef (the reference
// kernels), and the split over threads. The arithmetic is in elementwise_vec.h.
#include "kernels/x86/elementwise.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/error.h"
#include "engine/thread_pool.h"
#include "kernels/ref/unary_elementwise.h"

namespace poet::kernels::x86 {
namespace {

// Element-wise passes are memory-bound: split only tensors big enough to pay for a wake-up.
constexpr int64_t kGrain = 1 << 15;

}  // namespace

bool binary_repeating_supported(ref::BinaryOp op) {
  return op == ref::BinaryOp::kAdd || op == ref::BinaryOp::kSub || op == ref::BinaryOp::kMul ||
         op == ref::BinaryOp::kDiv;
}

void binary_repeating(Isa isa, ref::BinaryOp op, std::span<const float> a, std::span<const float> b,
                      std::span<float> out, ThreadPool* pool) {
  if (!binary_repeating_supported(op) || b.empty() || a.size() % b.size() != 0 ||
      out.size() != a.size())
    fail("binary_repeating: unsupported op or sizes (a ", a.size(), ", b ", b.size(), ", out ",
         out.size(), ")");
  if (isa == Isa::kRef) {
    const int64_t repeats = static_cast<int64_t>(a.size() / b.size());
    const int64_t a_shape[] = {repeats, static_cast<int64_t>(b.size())};
    ref::binary_elementwise<float>(op, a_shape, a, std::span(a_shape).last(1), b, a_shape, out);
    return;
  }
  // A short b (a scalar, a few channels) is repeated into a longer row so the vector loops
  // run over whole registers.
  std::vector<float> row;
  const float* bp = b.data();
  int64_t b_len = static_cast<int64_t>(b.size());
  if (b_len < 64 && static_cast<int64_t>(a.size()) > b_len) {
    const int64_t copies = (256 + b_len - 1) / b_len;
    for (int64_t k = 0; k < copies; ++k) row.insert(row.end(), b.begin(), b.end());
    bp = row.data();
    b_len = static_cast<int64_t>(row.size());
  }
  const BinaryRangeFn fn =
      simd_kernels(isa, elementwise_avx2_kernels, elementwise_avx512_kernels, "elementwise").binary;
  parallel_for(pool, static_cast<int64_t>(a.size()), kGrain, [&](int64_t begin, int64_t end) {
    fn(op, a.data(), bp, b_len, out.data(), begin, end);
  });
}

void activation(Isa isa, Activation act, std::span<const float> in, std::span<float> out,
                ThreadPool* pool) {
  if (in.size() != out.size())
    fail("activation: input has ", in.size(), " elements but the output ", out.size());
  if (act == Activation::kNone) {
    if (!in.empty() && in.data() != out.data())
      std::memcpy(out.data(), in.data(), in.size() * sizeof(float));
    return;
  }
  if (isa == Isa::kRef) {
    ref::unary_elementwise(act == Activation::kRelu ? ref::UnaryOp::kRelu : ref::UnaryOp::kRelu6,
                           in, out);
    return;
  }
  const ActivationRangeFn fn =
      simd_kernels(isa, elementwise_avx2_kernels, elementwise_avx512_kernels, "elementwise")
          .activation;
  parallel_for(pool, static_cast<int64_t>(in.size()), kGrain, [&](int64_t begin, int64_t end) {
    fn(act, in.data() + begin, out.data() + begin, end - begin);
  });
}

}  // namespace poet::kernels::x86
