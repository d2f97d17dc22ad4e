// ResizeBilinear: NHWC images of any supported numeric type, resized to `size` (int32 [2]:
// height, width); the output is always float32, as in TensorFlow. Float images go through the
// SIMD kernel of the active ISA unless the backend is kReference; integer images (a decoded
// JPEG fed straight in) through kernels/ref.
#include "kernels/ref/resize_bilinear.h"
#include "engine/ops/registry.h"
#include "kernels/x86/resize_bilinear_nhwc.h"

namespace poet::ops {
namespace {

using kernels::ref::ResizeGrid;

class ResizeBilinear final : public Op {
 public:
  ResizeBilinear(const Node& node, const OpOptions& options) : backend_(options.backend) {
    bool align_corners = node.attr_bool("align_corners", false);
    bool half_pixel = node.attr_bool("half_pixel_centers", false);
    if (align_corners && half_pixel)
      fail(node.describe(), ": align_corners and half_pixel_centers cannot both be true");
    grid_ = align_corners ? ResizeGrid::kAlignCorners
                          : (half_pixel ? ResizeGrid::kHalfPixel : ResizeGrid::kLegacy);
  }

  void infer(InferContext& ctx) const override {
    ctx.expect_inputs(2);
    DType t = ctx.input(0).dtype;
    if (t != DType::kFloat32 && t != DType::kUInt8 && t != DType::kInt32 && t != DType::kInt64)
      ctx.fail("images are ", dtype_name(t), "; poet resizes float32, uint8, int32 and int64");
    ctx.expect_dtype(1, DType::kInt32);
    ctx.expect_rank(0, 4);
    ctx.expect_rank(1, 1);
    const PartialShape& in = ctx.input_shape(0);
    int64_t out_h = -1, out_w = -1;
    if (const Tensor* size = ctx.input_value(1)) {
      if (size->num_elements() != 2)
        ctx.fail("size must hold 2 values (height, width), has shape ",
                 shape_string(size->shape()));
      out_h = size->data<int32_t>()[0];
      out_w = size->data<int32_t>()[1];
      if (out_h <= 0 || out_w <= 0)
        ctx.fail("size must be positive, got [", out_h, ",", out_w, "]");
    }
    for (int axis : {1, 2}) {
      if (in.dim(axis) == 0) ctx.fail("cannot resize an empty image ", in.str());
    }
    ctx.set_output(0, DType::kFloat32, Shape{in.dim(0), out_h, out_w, in.dim(3)});
  }

  void compute(ComputeContext& ctx) const override {
    const Tensor& in = ctx.input(0);
    Tensor& out = ctx.output(0);
    kernels::ref::ResizeShape s{in.dim(0), in.dim(1), in.dim(2), in.dim(3), out.dim(1), out.dim(2)};
    switch (in.dtype()) {
      case DType::kFloat32: {
        const kernels::x86::Isa isa =
            backend_ == Backend::kReference ? kernels::x86::Isa::kRef : kernels::x86::active_isa();
        return kernels::x86::resize_bilinear_nhwc(isa, s, grid_, in.data<float>(),
                                                  out.data<float>(), ctx.pool());
      }
      case DType::kUInt8:
        return kernels::ref::resize_bilinear(s, grid_, in.data<uint8_t>(), out.data<float>());
      case DType::kInt32:
        return kernels::ref::resize_bilinear(s, grid_, in.data<int32_t>(), out.data<float>());
      case DType::kInt64:
        return kernels::ref::resize_bilinear(s, grid_, in.data<int64_t>(), out.data<float>());
      default:
        ctx.fail("unsupported image dtype ", dtype_name(in.dtype()));
    }
  }

  int64_t flops(std::span<const TensorInfo>, std::span<const TensorInfo> out) const override {
    return 6 * num_elements(out[0].shape.dims);  // three lerps of a subtract, multiply, add
  }

 private:
  Backend backend_;
  ResizeGrid grid_ = ResizeGrid::kLegacy;
};

std::unique_ptr<Op> make_resize_bilinear(const Node& node, const OpOptions& options) {
  return std::make_unique<ResizeBilinear>(node, options);
}

POET_REGISTER_OP("ResizeBilinear", make_resize_bilinear,
                 {.inputs = {"T", "int32"}, .attrs = {"T", "align_corners", "half_pixel_centers"}});

}  // namespace
}  // namespace poet::ops
