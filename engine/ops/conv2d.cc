// Conv2D: NHWC input, HWIO filter. Backend kReference runs kernels/ref/conv2d; kNative (and,
// until poet has a oneDNN convolution, kOneDnn) runs the SIMD kernel for the active ISA with
// the filter packed once and cached while the filter is a constant.
#include <atomic>
#include <mutex>

#include "engine/ops/conv_attrs.h"
#include "engine/ops/registry.h"
#include "kernels/ref/conv2d.h"
#include "kernels/x86/conv2d_nhwc.h"

namespace poet::ops {
namespace {

namespace x86 = kernels::x86;

class Conv2D final : public Op {
 public:
  Conv2D(const Node& node, const OpOptions& options)
      : attrs_(read_window_attrs(node, /*pooling=*/false)),
        reference_(options.backend == Backend::kReference) {}

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2);
    ctx.expect_dtype(0, DType::kFloat32);
    ctx.expect_dtype(1, DType::kFloat32);
    ctx.expect_rank(0, 4);
    ctx.expect_rank(1, 4);
    const PartialShape& in = ctx.input_shape(0);
    const PartialShape& filter = ctx.input_shape(1);
    if (in.dim(3) >= 0 && filter.dim(2) >= 0 && in.dim(3) != filter.dim(2))
      ctx.fail("input has ", in.dim(3), " channels but the filter ", filter.str(), " expects ",
               filter.dim(2));
    // A filter that was ever unknown at inference is fed: its packed copy cannot be reused.
    if (!ctx.input_value(1)) filter_varies_ = true;
    ctx.set_output(0, DType::kFloat32,
                   Shape{in.dim(0),
                         window_output_size(in.dim(1), filter.dim(0), attrs_.stride_h,
                                            attrs_.dilation_h, attrs_.padding),
                         window_output_size(in.dim(2), filter.dim(1), attrs_.stride_w,
                                            attrs_.dilation_w, attrs_.padding),
                         filter.dim(3)});
  }

  void compute(ComputeContext& ctx) const override {
    const Tensor& filter = ctx.input(1);
    kernels::ConvShape s =
        conv_shape(ctx.input(0).shape(), filter.dim(0), filter.dim(1), filter.dim(3), attrs_);
    const x86::Isa isa = reference_ ? x86::Isa::kRef : x86::active_isa();
    if (isa == x86::Isa::kRef) {
      kernels::ref::conv2d(s, ctx.input(0).data<float>(), filter.data<float>(), {},
                           kernels::Activation::kNone, ctx.output(0).data<float>());
      return;
    }
    std::shared_ptr<const x86::PackedConvFilter> packed = packed_filter(filter, isa);
    x86::conv2d_nhwc(s, ctx.input(0).data<float>(), *packed, {}, kernels::Activation::kNone,
                     ctx.output(0).data<float>(), ctx.pool());
  }

  int64_t flops(std::span<const TensorInfo> in, std::span<const TensorInfo> out) const override {
    const Shape& f = in[1].shape.dims;
    return 2 * num_elements(out[0].shape.dims) * f[0] * f[1] * f[2];
  }

 private:
  // The filter packed for `isa`; cached when the filter is a constant. The cache keeps the
  // filter tensor alive, so a matching data pointer means the same buffer.
  std::shared_ptr<const x86::PackedConvFilter> packed_filter(const Tensor& filter,
                                                             x86::Isa isa) const {
    auto pack = [&] {
      return std::make_shared<const x86::PackedConvFilter>(x86::pack_conv_filter(
          isa, filter.dim(0), filter.dim(1), filter.dim(2), filter.dim(3), filter.data<float>()));
    };
    if (filter_varies_) return pack();
    std::lock_guard lock(cache_mutex_);
    if (!cached_ || cached_->isa != isa ||
        cached_filter_.data<float>().data() != filter.data<float>().data()) {
      cached_ = pack();
      cached_filter_ = filter;
    }
    return cached_;
  }

  WindowAttrs attrs_;
  bool reference_;
  mutable std::atomic<bool> filter_varies_ = false;
  mutable std::mutex cache_mutex_;
  mutable std::shared_ptr<const x86::PackedConvFilter> cached_;
  mutable Tensor cached_filter_;
};

// kOneDnn falls back to the native kernel: poet has no oneDNN convolution yet.
std::unique_ptr<Op> make_conv2d(const Node& node, const OpOptions& options) {
  return std::make_unique<Conv2D>(node, options);
}

POET_REGISTER_OP("Conv2D", make_conv2d);

}  // namespace
}  // namespace poet::ops
