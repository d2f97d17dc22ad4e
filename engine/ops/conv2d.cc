// Conv2D and _FusedConv2D (Conv2D + BiasAdd [+ Relu | Relu6], which the optimiser makes from
// a convolution and the batch norm and activation after it): NHWC input, HWIO filter.
// Backends: kReference runs kernels/ref/conv2d; kNative the SIMD kernel for the active ISA on
// a filter packed once (the direct kernel, or Winograd where that is faster, see
// winograd_pays_off); kOneDnn a oneDNN primitive built once per layer shape. Both
// prepared forms are cached while the filter is a constant, as it is in every frozen graph.
#include <algorithm>
#include <memory>

#include "engine/ops/convolution.h"
#include "engine/ops/registry.h"
#include "engine/thread_pool.h"
#include "kernels/ref/conv2d.h"
#include "kernels/x86/conv2d_nhwc.h"
#include "kernels/x86/conv2d_winograd.h"

namespace poet::ops {
namespace {

namespace x86 = kernels::x86;

// Whether the native backend runs a layer with Winograd (kernels/x86/conv2d_winograd.h: 2-D
// tiles for 3x3 and 5x5 filters, tiles along one axis for 1x7, 7x1, 1x3 and 3x1) instead of the
// direct kernel: stride 1, no dilation (what it computes), and where it measured faster
// (kernels on their own, one thread, AVX2, Zen 3; docs/PERFORMANCE.md, "Winograd"):
//  - 3x3: at least 8 input and 8 output channels and 128 channel pairs. With fewer, the
//    transforms and the short products cost more than they save (147x147: 3 -> 32 and 4 -> 64
//    channels 0.8-0.9x the direct kernel's speed, 8 -> 8 0.9-1.3x; 8 -> 16 1.4x, 16 -> 16
//    1.4-1.8x, Inception's 32 -> 32 to 96 -> 96 2-2.8x).
//  - 5x5: at least 24 input and 24 output channels (35x35: 8 -> 16 0.7x, 16 -> 16 0.9-1.1x,
//    16 -> 32 1.0x; 24 -> 32 and 32 -> 32 1.3x, Inception's 48 -> 64 1.5-1.8x).
//  - 1x7, 7x1, 1x3, 3x1: at least 32 input and 32 output channels and 32 x 64 channel pairs
//    (8x8 to 35x35: 16 -> 32 0.8-1.2x, 32 -> 32 0.9-1.3x, 32 -> 64 1.1-1.5x, 64 -> 64
//    1.3-1.7x; Inception's 1x7 and 7x1, 128 -> 128 to 192 -> 192 at 17x17, 1.6-1.9x).
//  - at least 16x16 output pixels per image: the transformed filter is larger than the direct
//    one (4x for 3x3, 2x for 1x3, 1.4x for 5x5 and 1x7) and is read once per image, from
//    memory when the graph's weights do not stay in cache; an 8x8 image has few tiles to use
//    it on. Inception's 448 -> 384 3x3 at 8x8 would read 25 MB instead of 6 MB per image, for
//    at most 1.2x in cache; its 1x3 and 3x1 at 8x8 (384 -> 384, 1.6-1.7x on their own) were
//    1.16-1.2x faster in the whole graph on one thread and no faster on two.
// An image size unknown at load counts as large enough.
bool winograd_pays_off(const kernels::ConvShape& s) {
  if (!x86::winograd_applies(s)) return false;
  struct Rule {
    int64_t min_channels, min_pairs;
  };
  const bool one_axis = s.k_h == 1 || s.k_w == 1;
  const Rule rule = one_axis ? Rule{32, 32 * 64} : s.k_h == 3 ? Rule{8, 128} : Rule{24, 0};
  constexpr int64_t kMinPixels = 16 * 16;
  const bool known = s.out_h > 0 && s.out_w > 0;
  return s.in_c >= rule.min_channels && s.out_c >= rule.min_channels &&
         s.in_c * s.out_c >= rule.min_pairs && (!known || s.out_h * s.out_w >= kMinPixels);
}

class Conv2D final : public Convolution {
 public:
  Conv2D(const Node& node, const OpOptions& options, bool fused)
      : Convolution(node, options, fused, kernels::onednn::ConvKind::kDense),
        winograd_(options.winograd) {}

  void compute(ComputeContext& ctx) const override {
    kernels::ConvShape s = conv_shape(ctx);
    if (run_onednn(ctx, s)) return;
    s.out_stride = ctx.output_pixel_stride();
    const Tensor& filter = ctx.input(1);
    std::span<const float> in = ctx.input(0).data<float>();
    std::span<float> out = ctx.output_floats(s.output_size());
    x86::Isa isa = backend_ == Backend::kReference ? x86::Isa::kRef : x86::active_isa();
    if (isa == x86::Isa::kRef) {
      kernels::ref::conv2d(s, in, filter.data<float>(), bias(ctx), activation_, out);
      return;
    }
    // A filter packed at load keeps the kernel chosen then.
    const bool winograd = adopted_winograd_ || (!adopted_ && winograd_ && winograd_pays_off(s));
    if (winograd) {
      auto packed = prepared(ctx, isa, adopted_winograd_, winograd_packed_, [&] {
        return x86::pack_winograd_filter(isa, s.k_h, s.k_w, s.in_c, s.out_c, filter.data<float>());
      });
      x86::conv2d_winograd(s, in, *packed, bias(ctx), activation_, out, ctx.pool());
      return;
    }
    auto packed = prepared(ctx, isa, adopted_, packed_, [&] {
      return x86::pack_conv_filter(isa, filter.dim(0), filter.dim(1), filter.dim(2), filter.dim(3),
                                   filter.data<float>());
    });
    const int threads = pool_threads(ctx.pool());
    const auto plan = plans_.get(x86::Conv2dNhwcPlan::Key{s, packed->isa, threads},
                                 [&] { return x86::Conv2dNhwcPlan(s, *packed, threads); });
    x86::conv2d_nhwc(*plan, in, *packed, bias(ctx), activation_, out, ctx.pool());
  }

  // The native kernel packs a constant filter once at load, for the kernel the layer's shape
  // (as far as load knows it) chooses; the original can then go.
  bool adopt_constant(int i, std::span<const TensorInfo* const> inputs) const override {
    const x86::Isa isa = x86::active_isa();
    if (i != 1 || backend_ != Backend::kNative || isa == x86::Isa::kRef) return false;
    const Tensor& f = *inputs[1]->value;
    if (f.rank() != 4) return false;  // infer reports it at run time
    if (winograd_ && winograd_pays_off(load_shape(inputs[0]->shape, f))) {
      adopted_winograd_ = std::make_shared<const x86::WinogradFilter>(
          x86::pack_winograd_filter(isa, f.dim(0), f.dim(1), f.dim(2), f.dim(3), f.data<float>()));
    } else {
      adopted_ = std::make_shared<const x86::PackedConvFilter>(
          x86::pack_conv_filter(isa, f.dim(0), f.dim(1), f.dim(2), f.dim(3), f.data<float>()));
    }
    return true;
  }

  // The reference and native kernels write any pixel stride; a oneDNN primitive a dense output.
  bool writes_channel_slices() const override { return backend_ != Backend::kOneDnn; }

  int64_t flops(std::span<const TensorInfo> in, std::span<const TensorInfo> out) const override {
    const Shape& f = in[1].shape.dims;
    return 2 * num_elements(out[0].shape.dims) * f[0] * f[1] * f[2];
  }

 private:
  // The filter packed at load for this ISA, else packed now: once while the filter is a
  // constant (cached), on every run when it is fed.
  template <class Packed, class Pack>
  std::shared_ptr<const Packed> prepared(const ComputeContext& ctx, x86::Isa isa,
                                         const std::shared_ptr<const Packed>& adopted,
                                         const PreparedCache<x86::Isa, Packed>& cache,
                                         const Pack& pack) const {
    if (adopted && adopted->isa == isa) return adopted;
    const Tensor& filter = ctx.input(1);
    if (filter.released())
      ctx.fail("the filter was packed for ", x86::isa_name(adopted->isa),
               " at load and released; the active ISA is now ", x86::isa_name(isa));
    return cache.get_unless_fed(filter, isa, filter_varies_, pack);
  }

  // The layer's shape from the load-time input shape (image size -1 when unknown).
  kernels::ConvShape load_shape(const PartialShape& input, const Tensor& filter) const {
    const int64_t h = input.dim(1), w = input.dim(2);
    kernels::ConvShape s =
        ops::conv_shape(Shape{1, std::max<int64_t>(h, 1), std::max<int64_t>(w, 1), filter.dim(2)},
                        filter.dim(0), filter.dim(1), filter.dim(3), attrs());
    if (h < 0 || w < 0) s.out_h = s.out_w = -1;
    return s;
  }

  const bool winograd_;
  PreparedCache<x86::Isa, x86::PackedConvFilter> packed_;
  PreparedCache<x86::Isa, x86::WinogradFilter> winograd_packed_;
  // The direct kernel's plan for the last shape and thread count it ran with.
  ShapeCache<x86::Conv2dNhwcPlan> plans_;
  // Packed at load by adopt_constant, one of the two (set before any run, read-only after).
  mutable std::shared_ptr<const x86::PackedConvFilter> adopted_;
  mutable std::shared_ptr<const x86::WinogradFilter> adopted_winograd_;
};

std::unique_ptr<Op> make_conv2d(const Node& node, const OpOptions& options) {
  return std::make_unique<Conv2D>(node, options, /*fused=*/false);
}

std::unique_ptr<Op> make_fused_conv2d(const Node& node, const OpOptions& options) {
  return std::make_unique<Conv2D>(node, options, /*fused=*/true);
}

POET_REGISTER_OP("Conv2D", make_conv2d,
                 {.inputs = {"T", "T"},
                  .attrs = {"T", "strides", "use_cudnn_on_gpu", "padding", "explicit_paddings",
                            "data_format", "dilations"}});
POET_REGISTER_OP("_FusedConv2D", make_fused_conv2d);

}  // namespace
}  // namespace poet::ops
