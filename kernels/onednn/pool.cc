#include "kernels/onednn/pool.h"

#include "engine/error.h"
#include "kernels/onednn/common.h"
#include "kernels/onednn/engine.h"

namespace poet::kernels::onednn {

using dnnl::memory;

struct Pool2dPrimitive::Impl {
  dnnl::pooling_forward::primitive_desc pd;
  dnnl::pooling_forward pool;
  memory::desc src_desc, dst_desc;
};

Pool2dPrimitive::Pool2dPrimitive(const ConvShape& s, PoolKind kind)
    : shape_(s), layer_(describe(s)) {
  if (s.out_c != s.in_c || !s.dense_output())
    fail("oneDNN pooling for ", layer_, ": output channels must equal input channels, densely");
  if (s.dilation_h != 1 || s.dilation_w != 1)
    fail("oneDNN pooling for ", layer_, ": dilated windows are not supported");
  if (s.output_size() == 0) return;
  try {
    use_configured_threads();
    memory::desc src = nhwc_desc(s.batch, s.in_h, s.in_w, s.in_c);
    memory::desc dst = nhwc_desc(s.batch, s.out_h, s.out_w, s.out_c);
    memory::dims pad_r{pad_after(s.in_h, s.out_h, s.k_h, s.stride_h, 1, s.pad_top),
                       pad_after(s.in_w, s.out_w, s.k_w, s.stride_w, 1, s.pad_left)};
    dnnl::pooling_forward::desc desc(
        dnnl::prop_kind::forward_inference,
        kind == PoolKind::kMax ? dnnl::algorithm::pooling_max
                               : dnnl::algorithm::pooling_avg_exclude_padding,
        src, dst, {s.stride_h, s.stride_w}, {s.k_h, s.k_w}, {s.pad_top, s.pad_left}, pad_r);
    dnnl::pooling_forward::primitive_desc pd(desc, make_attr(Activation::kNone), cpu_engine());
    impl_ = std::make_unique<Impl>(Impl{pd, dnnl::pooling_forward(pd), src, dst});
  } catch (const dnnl::error& e) {
    fail_dnnl(e, kind == PoolKind::kMax ? "max pooling" : "average pooling", layer_);
  }
}

Pool2dPrimitive::~Pool2dPrimitive() = default;
Pool2dPrimitive::Pool2dPrimitive(Pool2dPrimitive&&) noexcept = default;
Pool2dPrimitive& Pool2dPrimitive::operator=(Pool2dPrimitive&&) noexcept = default;

void Pool2dPrimitive::run(std::span<const float> input, std::span<float> output) const {
  check_size(input, shape_.input_size(), "input", layer_);
  check_size(output, shape_.output_size(), "output", layer_);
  if (!impl_) return;
  try {
    execute(impl_->pool, impl_->pd,
            {{DNNL_ARG_SRC, wrap(impl_->src_desc, input)},
             {DNNL_ARG_DST, wrap(impl_->dst_desc, output)}});
  } catch (const dnnl::error& e) {
    fail_dnnl(e, "pooling", layer_);
  }
}

}  // namespace poet::kernels::onednn
