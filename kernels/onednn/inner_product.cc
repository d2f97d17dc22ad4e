#include "kernels/onednn/inner_product.h"

#include "engine/error.h"
#include "kernels/onednn/common.h"
#include "kernels/onednn/engine.h"

namespace poet::kernels::onednn {

using dnnl::memory;

struct InnerProductPrimitive::Impl {
  dnnl::inner_product_forward::primitive_desc pd;
  dnnl::inner_product_forward ip;
  WeightedOperands operands;
};

InnerProductPrimitive::InnerProductPrimitive(MatMulShape s, std::span<const float> weights,
                                             bool transpose_b, std::span<const float> bias,
                                             Activation act)
    : shape_(s), layer_(str_cat("matmul ", s.m, "x", s.k, " by ", s.k, "x", s.n)) {
  check_size(weights, s.k * s.n, "weights", layer_);
  if (!bias.empty()) check_size(bias, s.n, "bias", layer_);
  if (s.m * s.n == 0) return;
  try {
    use_configured_threads();
    const dnnl::engine& eng = cpu_engine();
    memory::desc src({s.m, s.k}, memory::data_type::f32, memory::format_tag::nc);
    memory::desc dst({s.m, s.n}, memory::data_type::f32, memory::format_tag::nc);
    memory::desc bias_desc;
    if (!bias.empty())
      bias_desc = memory::desc({s.n}, memory::data_type::f32, memory::format_tag::x);
    // oneDNN's weights are [n (out), k (in)]; b is [k, n], i.e. the transposed strides.
    memory::desc user_weights_desc({s.n, s.k}, memory::data_type::f32,
                                   transpose_b ? memory::dims{s.k, 1} : memory::dims{1, s.n});
    dnnl::inner_product_forward::desc desc(
        dnnl::prop_kind::forward_inference, src,
        memory::desc({s.n, s.k}, memory::data_type::f32, memory::format_tag::any), bias_desc, dst);
    dnnl::inner_product_forward::primitive_desc pd(desc, make_attr(act), eng);

    impl_ = std::make_unique<Impl>(
        Impl{pd, dnnl::inner_product_forward(pd),
             prepare_operands(pd, user_weights_desc, weights, bias_desc, bias, src, dst)});
  } catch (const dnnl::error& e) {
    fail_dnnl(e, "inner product", layer_);
  }
}

InnerProductPrimitive::~InnerProductPrimitive() = default;
InnerProductPrimitive::InnerProductPrimitive(InnerProductPrimitive&&) noexcept = default;
InnerProductPrimitive& InnerProductPrimitive::operator=(InnerProductPrimitive&&) noexcept = default;

void InnerProductPrimitive::run(std::span<const float> input, std::span<float> output) const {
  check_size(input, shape_.m * shape_.k, "input", layer_);
  check_size(output, shape_.m * shape_.n, "output", layer_);
  if (impl_) execute(impl_->ip, impl_->pd, impl_->operands, input, output, "inner product", layer_);
}

}  // namespace poet::kernels::onednn
