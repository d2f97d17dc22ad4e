// _FusedConvChain: convolutions each reading the one before it, made one node by the optimiser
// for the native backend (engine/optimize/conv_chain.cc): a depthwise layer and the 1x1 layer
// after it (MobileNet's pairs), and a network's first layers, whose activations are too large
// for the caches. Inputs: x (NHWC), then each layer's filter and bias. Attributes: `layer_ops`,
// one per layer, "Conv2D" (filter HWIO) or "DepthwiseConv2dNative" (filter [kh, kw, C, 1]);
// and layer i's own attributes (strides, padding, dilations, fused_ops, as its
// _FusedConv2D or _FusedDepthwiseConv2dNative had them) under "i/" ("0/strides"). The SIMD
// ISAs run kernels/x86/conv_chain_nhwc.h (a few rows at a time through every layer) on weights
// packed once; the reference ISA runs the reference kernels one layer after the other.
#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/conv_attrs.h"
#include "engine/ops/prepared_cache.h"
#include "engine/ops/registry.h"
#include "engine/thread_pool.h"
#include "kernels/ref/conv2d.h"
#include "kernels/ref/depthwise_conv2d.h"
#include "kernels/x86/conv_chain_nhwc.h"

namespace poet::ops {
namespace {

namespace x86 = kernels::x86;

struct Layer {
  bool depthwise = false;
  WindowAttrs attrs;
  kernels::Activation act = kernels::Activation::kNone;
};

std::vector<Layer> read_layers(const Node& node) {
  std::vector<Layer> layers;
  for (int i = 0; i < static_cast<int>(chain_ops(node).size()); ++i) {
    const Node layer = chain_layer(node, i);
    if (layer.op != "Conv2D" && layer.op != "DepthwiseConv2dNative")
      fail(layer.describe(), ": a chain's layer must be Conv2D or DepthwiseConv2dNative");
    layers.push_back({layer.op == "DepthwiseConv2dNative",
                      read_window_attrs(layer, /*pooling=*/false), read_fused_activation(layer)});
  }
  return layers;
}

// What an op keeps per layer: its packed weights, made once from constant ones.
struct LayerCache {
  PreparedCache<x86::Isa, x86::PackedConvFilter> filter;
  PreparedCache<const float*, x86::PackedDepthwiseWeights> depthwise;  // keyed by the bias
};

class FusedConvChain final : public Op {
 public:
  FusedConvChain(const Node& node, const OpOptions& options)
      : backend_(options.backend_for(node.op)),
        layers_(read_layers(node)),
        caches_(std::make_unique<LayerCache[]>(layers_.size())) {}

  void infer(InferContext& ctx) const override {
    const int n = static_cast<int>(layers_.size());
    ctx.expect_inputs(1 + 2 * n);
    for (int i = 0; i < 1 + 2 * n; ++i) {
      ctx.expect_dtype(i, DType::kFloat32);
      ctx.expect_rank(i, i == 0 || i % 2 == 1 ? 4 : 1);
      if (i > 0 && !ctx.input_value(i)) weights_vary_ = true;
    }
    PartialShape x = ctx.input_shape(0);
    for (int j = 0; j < n; ++j) {
      const PartialShape& filter = ctx.input_shape(1 + 2 * j);
      const int64_t out_c = layers_[j].depthwise ? filter.dim(2) : filter.dim(3);
      if (x.dim(3) != filter.dim(2) || (layers_[j].depthwise && filter.dim(3) != 1) || out_c < 0 ||
          filter.dim(0) < 1 || filter.dim(1) < 1 || ctx.input_shape(2 + 2 * j).dim(0) != out_c)
        ctx.fail("layer ", j, "'s input ", x.str(), ", filter ", filter.str(), " and bias ",
                 ctx.input_shape(2 + 2 * j).str(), " do not follow the layer before");
      x = window_output_shape(ctx, x, filter.dim(0), filter.dim(1), out_c, layers_[j].attrs);
    }
    ctx.set_output(0, DType::kFloat32, x);
  }

  void compute(ComputeContext& ctx) const override {
    std::span<float> out = ctx.output(0).data<float>();
    if (out.empty()) return;
    const std::vector<x86::ChainLayerShape> shapes =
        layer_shapes(ctx.input(0).shape(),
                     [&](size_t j) -> const Shape& { return ctx.input(1 + 2 * j).shape(); });
    const x86::Isa isa = backend_ == Backend::kReference ? x86::Isa::kRef : x86::active_isa();
    // No channels somewhere (a layer then gives its bias) run the reference too: the SIMD
    // depthwise kernel needs some.
    const auto vectorised = [](const x86::ChainLayerShape& l) {
      return !l.depthwise || x86::depthwise_conv2d_nhwc_vectorised(l.shape);
    };
    if (isa == x86::Isa::kRef || !std::all_of(shapes.begin(), shapes.end(), vectorised))
      return reference(ctx, shapes, out);
    std::vector<std::shared_ptr<const x86::PackedConvFilter>> filters(shapes.size());
    std::vector<std::shared_ptr<const x86::PackedDepthwiseWeights>> depthwise(shapes.size());
    std::vector<const x86::PackedConvFilter*> filter_ptrs(shapes.size(), nullptr);
    std::vector<x86::ChainLayer> layers(shapes.size());
    for (size_t j = 0; j < shapes.size(); ++j) {
      const Tensor& filter = ctx.input(1 + 2 * j);
      const std::span<const float> bias = ctx.input(2 + 2 * j).data<float>();
      const kernels::ConvShape& s = shapes[j].shape;
      layers[j].act = layers_[j].act;
      // Packed once per constant filter and bias, on every run when fed.
      if (shapes[j].depthwise) {
        depthwise[j] = caches_[j].depthwise.get_unless_fed(filter, bias.data(), weights_vary_, [&] {
          return x86::pack_depthwise_weights(s.k_h, s.k_w, s.out_c, filter.data<float>(), bias);
        });
        layers[j].depthwise = depthwise[j].get();
      } else {
        filters[j] = caches_[j].filter.get_unless_fed(filter, isa, weights_vary_, [&] {
          return x86::pack_conv_filter(isa, s.k_h, s.k_w, s.in_c, s.out_c, filter.data<float>());
        });
        filter_ptrs[j] = layers[j].filter = filters[j].get();
        layers[j].bias = bias;
      }
    }
    const int threads = pool_threads(ctx.pool());
    const auto plan = plans_.get(x86::ConvChainPlan::Key{shapes, isa, threads},
                                 [&] { return x86::ConvChainPlan(shapes, filter_ptrs, threads); });
    x86::conv_chain_nhwc(*plan, ctx.input(0).data<float>(), layers, out, ctx.pool());
  }

  // The layers' counts (engine/ops/conv2d.cc, depthwise_conv2d.cc): per output, two per
  // multiply-add, and one for the depthwise layers' bias.
  int64_t flops(std::span<const TensorInfo> in, std::span<const TensorInfo>) const override {
    int64_t total = 0;
    for (const x86::ChainLayerShape& l :
         layer_shapes(in[0].shape.dims,
                      [&](size_t j) -> const Shape& { return in[1 + 2 * j].shape.dims; })) {
      const kernels::ConvShape& s = l.shape;
      total += l.depthwise ? s.output_size() * (2 * s.k_h * s.k_w + 1)
                           : 2 * s.output_size() * s.k_h * s.k_w * s.in_c;
    }
    return total;
  }

 private:
  // Each layer's shape for a concrete input shape; `filter(j)` is layer j's filter shape.
  template <class FilterShape>
  std::vector<x86::ChainLayerShape> layer_shapes(Shape x, const FilterShape& filter) const {
    std::vector<x86::ChainLayerShape> shapes;
    for (size_t j = 0; j < layers_.size(); ++j) {
      const Shape& f = filter(j);
      const int64_t out_c = layers_[j].depthwise ? f[2] : f[3];
      const kernels::ConvShape s = conv_shape(x, f[0], f[1], out_c, layers_[j].attrs);
      shapes.push_back({s, layers_[j].depthwise});
      x = {s.batch, s.out_h, s.out_w, s.out_c};
    }
    return shapes;
  }

  void reference(ComputeContext& ctx, std::span<const x86::ChainLayerShape> shapes,
                 std::span<float> out) const {
    std::vector<float> x(ctx.input(0).data<float>().begin(), ctx.input(0).data<float>().end());
    for (size_t j = 0; j < shapes.size(); ++j) {
      const kernels::ConvShape& s = shapes[j].shape;
      std::vector<float> y(static_cast<size_t>(s.output_size()));
      const auto filter = ctx.input(1 + 2 * j).data<float>();
      const auto bias = ctx.input(2 + 2 * j).data<float>();
      if (shapes[j].depthwise)
        kernels::ref::depthwise_conv2d(s, x, filter, bias, layers_[j].act, y);
      else
        kernels::ref::conv2d(s, x, filter, bias, layers_[j].act, y);
      x = std::move(y);
    }
    std::copy(x.begin(), x.end(), out.begin());
  }

  const Backend backend_;
  const std::vector<Layer> layers_;
  // Set at load when a filter or bias is fed: nothing packed from them can be reused.
  mutable std::atomic<bool> weights_vary_ = false;
  const std::unique_ptr<LayerCache[]> caches_;  // one per layer
  ShapeCache<x86::ConvChainPlan> plans_;
};

std::unique_ptr<Op> make_fused_conv_chain(const Node& node, const OpOptions& options) {
  return std::make_unique<FusedConvChain>(node, options);
}

POET_REGISTER_OP("_FusedConvChain", make_fused_conv_chain);

}  // namespace
}  // namespace poet::ops
