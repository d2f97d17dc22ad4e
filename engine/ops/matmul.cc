// MatMul: 2-D float32 matrix product with optional transposes (the retrained final layer).
// When b is a constant and a is not transposed, as in every frozen graph: backend kNative
// packs b once as a 1x1 convolution filter and runs the product as a 1x1 convolution over M
// pixels of K channels (the SIMD conv kernel is a register-blocked GEMM); kOneDnn runs
// oneDNN's inner product on weights reordered once. Everything else runs the reference.
#include <atomic>
#include <vector>

#include "engine/ops/prepared_cache.h"
#include "engine/ops/registry.h"
#include "kernels/onednn/inner_product.h"
#include "kernels/ref/matmul.h"
#include "kernels/x86/conv2d_nhwc.h"

namespace poet::ops {
namespace {

namespace x86 = kernels::x86;

class MatMul final : public Op {
 public:
  MatMul(const Node& node, const OpOptions& options)
      : transpose_a_(node.attr_bool("transpose_a", false)),
        transpose_b_(node.attr_bool("transpose_b", false)),
        backend_(options.backend) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2);
    ctx.expect_dtype(0, DType::kFloat32);
    ctx.expect_dtype(1, DType::kFloat32);
    ctx.expect_rank(0, 2);
    ctx.expect_rank(1, 2);
    const PartialShape& a = ctx.input_shape(0);
    const PartialShape& b = ctx.input_shape(1);
    int64_t k_a = a.dim(transpose_a_ ? 0 : 1), k_b = b.dim(transpose_b_ ? 1 : 0);
    if (k_a >= 0 && k_b >= 0 && k_a != k_b)
      ctx.fail("matrix sizes are incompatible: a ", a.str(), (transpose_a_ ? " (transposed)" : ""),
               " has ", k_a, " columns but b ", b.str(), (transpose_b_ ? " (transposed)" : ""),
               " has ", k_b, " rows");
    if (!ctx.input_value(1)) b_varies_ = true;
    ctx.set_output(0, DType::kFloat32,
                   Shape{a.dim(transpose_a_ ? 1 : 0), b.dim(transpose_b_ ? 0 : 1)});
  }

  void compute(ComputeContext& ctx) const override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    Tensor& c = ctx.output(0);
    const kernels::onednn::MatMulShape s{a.dim(0), a.dim(1), c.dim(1)};
    // Neither fast kernel has a use for an empty inner dimension; the reference fills zeros.
    const bool prepared = !transpose_a_ && !b_varies_ && s.k > 0;
    if (prepared && backend_ == Backend::kOneDnn) {
      onednn_
          .get(b, s,
               [&] {
                 return kernels::onednn::InnerProductPrimitive(s, b.data<float>(), transpose_b_, {},
                                                               kernels::Activation::kNone);
               })
          ->run(a.data<float>(), c.data<float>());
      return;
    }
    const x86::Isa isa = x86::active_isa();
    if (prepared && backend_ == Backend::kNative && isa != x86::Isa::kRef) {
      kernels::ConvShape pixels;  // M pixels of K channels in, N channels out
      pixels.in_h = pixels.out_h = s.m;
      pixels.in_w = pixels.out_w = 1;
      pixels.in_c = s.k;
      pixels.out_c = s.n;
      const auto packed = packed_.get(b, isa, [&] { return pack(isa, b, s); });
      x86::conv2d_nhwc(pixels, a.data<float>(), *packed, {}, kernels::Activation::kNone,
                       c.data<float>(), ctx.pool());
      return;
    }
    kernels::ref::matmul(a.data<float>(), ctx.input(1).data<float>(), c.dim(0), c.dim(1),
                         a.dim(transpose_a_ ? 0 : 1), transpose_a_, transpose_b_, c.data<float>());
  }

  int64_t flops(std::span<const TensorInfo> in, std::span<const TensorInfo> out) const override {
    const int64_t k = in[0].shape.dims[transpose_a_ ? 0 : 1];
    return 2 * num_elements(out[0].shape.dims) * k;
  }

 private:
  // b as a 1x1 HWIO filter [1, 1, K, N] packed for `isa` (transposed first when stored [N, K]).
  x86::PackedConvFilter pack(x86::Isa isa, const Tensor& b,
                             const kernels::onednn::MatMulShape& s) const {
    std::span<const float> kn = b.data<float>();
    std::vector<float> transposed;
    if (transpose_b_) {
      transposed.resize(kn.size());
      for (int64_t n = 0; n < s.n; ++n)
        for (int64_t k = 0; k < s.k; ++k) transposed[k * s.n + n] = kn[n * s.k + k];
      kn = transposed;
    }
    return x86::pack_conv_filter(isa, 1, 1, s.k, s.n, kn);
  }

  bool transpose_a_, transpose_b_;
  Backend backend_;
  mutable std::atomic<bool> b_varies_ = false;  // b was fed: no prepared weights to reuse
  PreparedCache<kernels::onednn::MatMulShape, kernels::onednn::InnerProductPrimitive> onednn_;
  PreparedCache<x86::Isa, x86::PackedConvFilter> packed_;
};

std::unique_ptr<Op> make_matmul(const Node& node, const OpOptions& options) {
  return std::make_unique<MatMul>(node, options);
}

POET_REGISTER_OP("MatMul", make_matmul,
                 {.inputs = {"T", "T"},
                  .attrs = {"transpose_a", "transpose_b", "T", "grad_a", "grad_b"}});

}  // namespace
}  // namespace poet::ops
