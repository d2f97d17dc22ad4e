// Fast float element-wise arithmetic for the shapes inference graphs use between layers:
// a tensor combined with one of the same size, with a per-channel vector (repeating along the
// last axis) or with a scalar, and Relu / Relu6. Results are bitwise those of the reference
// (one IEEE operation per element); general broadcasting stays with kernels::ref.
#pragma once

#include <cstdint>
#include <span>

#include "kernels/conv_shape.h"
#include "kernels/ref/binary_elementwise.h"
#include "kernels/x86/cpu_features.h"

namespace poet {
class ThreadPool;
}

namespace poet::kernels::x86 {

// True for the ops binary_repeating computes (Add, Sub, Mul, Div).
bool binary_repeating_supported(ref::BinaryOp op);

// out[i] = a[i] op b[i % b.size()], where b.size() divides a.size() (same size, a vector over
// the last axis, or one value). `isa` kRef runs a plain loop.
void binary_repeating(Isa isa, ref::BinaryOp op, std::span<const float> a, std::span<const float> b,
                      std::span<float> out, ThreadPool* pool);

// out[i] = activate(in[i], act).
void activation(Isa isa, Activation act, std::span<const float> in, std::span<float> out,
                ThreadPool* pool);

// --- Interface between the driver and the per-ISA kernels (elementwise_<isa>.cc). ---

// Elements [begin, end) of out = a op b[i % b_len].
using BinaryRangeFn = void (*)(ref::BinaryOp op, const float* a, const float* b, int64_t b_len,
                               float* out, int64_t begin, int64_t end);
using ActivationRangeFn = void (*)(Activation act, const float* in, float* out, int64_t n);
struct ElementwiseKernels {
  BinaryRangeFn binary;
  ActivationRangeFn activation;
};
ElementwiseKernels elementwise_avx2_kernels();
ElementwiseKernels elementwise_avx512_kernels();

}  // namespace poet::kernels::x86
