// Convolutions chained a few rows at a time (kernels/x86/conv_chain_nhwc.h), against the
// reference kernels run one layer after the other, for every ISA this machine can run:
// MobileNet v1's stem and first pairs, a depthwise and 1x1 pair alone, Inception v3's first
// convolutions, odd channel counts, tiny and odd-sized images, strides, VALID padding, batches,
// and 1-3 threads. Also the plan's windows and segments, and the chains it rejects; the
// _FusedConvChain op on each ISA and with fed weights; and the optimiser making it from
// MobileNet's layers only where it should.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/executor.h"
#include "engine/thread_pool.h"
#include "kernels/ref/conv2d.h"
#include "kernels/ref/depthwise_conv2d.h"
#include "kernels/x86/conv_chain_nhwc.h"
#include "tests/expect_error.h"
#include "tests/kernel_test_util.h"
#include "tests/op_test_util.h"
#include "tests/test_graph.h"
#include "tests/window_shapes.h"

namespace poet::testing {
namespace {

namespace x86 = kernels::x86;
using kernels::Activation;
using kernels::ConvShape;
using kernels::Padding;

// A layer of a chain: a k x k convolution to out_c channels, or a depthwise one (out_c unused).
struct Layer {
  bool depthwise;
  int64_t k, stride;
  Padding padding;
  int64_t out_c = 0;
  Activation act = Activation::kRelu6;
};
Layer conv(int64_t k, int64_t stride, int64_t out_c, Padding padding = Padding::kSame) {
  return {false, k, stride, padding, out_c};
}
Layer depthwise(int64_t stride, Padding padding = Padding::kSame) {
  return {true, 3, stride, padding};
}

struct Chain {
  int64_t batch, h, w, c;
  std::vector<Layer> layers;

  std::vector<x86::ChainLayerShape> shapes() const {
    std::vector<x86::ChainLayerShape> out;
    int64_t h_in = h, w_in = w, c_in = c;
    for (const Layer& l : layers) {
      ConvShape s = window_shape(batch, h_in, w_in, c_in, l.k, l.stride, l.padding);
      if (!l.depthwise) s.out_c = l.out_c;
      out.push_back({s, l.depthwise});
      h_in = s.out_h, w_in = s.out_w, c_in = s.out_c;
    }
    return out;
  }
};

// One layer's random weights, the reference's and the packed ones.
struct Weights {
  std::vector<float> filter, bias;
  x86::PackedConvFilter packed;
  std::unique_ptr<x86::PackedDepthwiseWeights> depthwise;
};

// Inputs span [-3, 3] so the sums cross Relu6's upper clamp; the last layer has no activation,
// so a wrong sign shows too.
void check_chain(const Chain& chain, ThreadPool* pool) {
  const auto shapes = chain.shapes();
  SCOPED_TRACE(::testing::Message()
               << chain.batch << "x" << chain.h << "x" << chain.w << "x" << chain.c << ", "
               << shapes.size() << " layers, " << pool_threads(pool) << " threads");
  std::vector<float> want = random_floats(shapes[0].shape.input_size(), 1, -3.f, 3.f);
  const std::vector<float> input = want;
  std::vector<Weights> weights(shapes.size());
  std::vector<Activation> acts;
  for (size_t j = 0; j < shapes.size(); ++j) {
    const ConvShape& s = shapes[j].shape;
    const auto seed = static_cast<uint32_t>(10 * j);
    const Activation act = j + 1 == shapes.size() ? Activation::kNone : chain.layers[j].act;
    acts.push_back(act);
    Weights& w = weights[j];
    w.filter = random_floats(s.k_h * s.k_w * (shapes[j].depthwise ? 1 : s.in_c) * s.out_c, seed);
    w.bias = random_floats(s.out_c, seed + 1);
    std::vector<float> next(s.output_size());
    if (shapes[j].depthwise) {
      kernels::ref::depthwise_conv2d(s, want, w.filter, w.bias, act, next);
      w.depthwise = std::make_unique<x86::PackedDepthwiseWeights>(
          x86::pack_depthwise_weights(s.k_h, s.k_w, s.out_c, w.filter, w.bias));
    } else {
      kernels::ref::conv2d(s, want, w.filter, w.bias, act, next);
    }
    want = std::move(next);
  }
  for (x86::Isa isa : simd_isas()) {
    SCOPED_TRACE(x86::isa_name(isa));
    std::vector<const x86::PackedConvFilter*> filters;
    std::vector<x86::ChainLayer> layers;
    for (size_t j = 0; j < shapes.size(); ++j) {
      const ConvShape& s = shapes[j].shape;
      Weights& w = weights[j];
      if (shapes[j].depthwise) {
        filters.push_back(nullptr);
        layers.push_back({.depthwise = w.depthwise.get(), .bias = {}, .act = acts[j]});
      } else {
        w.packed = x86::pack_conv_filter(isa, s.k_h, s.k_w, s.in_c, s.out_c, w.filter);
        filters.push_back(&w.packed);
        layers.push_back({.filter = &w.packed, .bias = w.bias, .act = acts[j]});
      }
    }
    const x86::ConvChainPlan plan(shapes, filters, pool_threads(pool));
    std::vector<float> got(want.size(), NAN);
    x86::conv_chain_nhwc(plan, input, layers, got, pool);
    // As the convolution kernel's own tests: sums over up to 288 terms in another order.
    expect_close(got, want, 1e-4f);
  }
}

void check_chains(const std::vector<Chain>& chains) {
  ThreadPool two(2), three(3);
  for (const Chain& chain : chains)
    for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &two, &three})
      check_chain(chain, pool);
}

TEST(ConvChain, MobileNetV1StemAndFirstPairs) {
  // 1.0_224: the stem, then the pairs to 64 and 128 channels (the second's depthwise layer
  // strided); 0.25_128's stem and first pair.
  check_chains({{1,
                 224,
                 224,
                 3,
                 {conv(3, 2, 32), depthwise(1), conv(1, 1, 64), depthwise(2), conv(1, 1, 128)}},
                {1, 128, 128, 3, {conv(3, 2, 8), depthwise(1), conv(1, 1, 16)}}});
}

TEST(ConvChain, PairsAlone) {
  // A depthwise layer and its 1x1 layer: MobileNet v1 1.0's first pairs and 0.25_128's, whose
  // runs are 16 rows (32 KiB of a 64x64x8 depthwise output).
  check_chains({{1, 112, 112, 32, {depthwise(1), conv(1, 1, 64)}},
                {1, 112, 112, 64, {depthwise(2), conv(1, 1, 128)}},
                {1, 56, 56, 128, {depthwise(2), conv(1, 1, 256)}},
                {1, 64, 64, 8, {depthwise(1), conv(1, 1, 16)}}});
}

TEST(ConvChain, InceptionV3FirstConvolutions) {
  // Conv2d_1a_3x3 (stride 2, VALID), 2a_3x3 (VALID) and 2b_3x3 (SAME), at a third of the
  // image's size to keep the reference quick.
  check_chains(
      {{1,
        101,
        101,
        3,
        {conv(3, 2, 32, Padding::kValid), conv(3, 1, 32, Padding::kValid), conv(3, 1, 64)}}});
}

TEST(ConvChain, OddShapesBatchesAndWindows) {
  // Channels off the vector width, images of one pixel, a row or a column, odd heights cut
  // unevenly over 2 and 3 threads, batches whose segments end at image boundaries, VALID
  // padding, 5x5 windows, strided 1x1 layers and two depthwise layers in a row.
  check_chains({{1, 9, 7, 19, {depthwise(1), conv(1, 1, 21)}},
                {3, 11, 6, 3, {conv(3, 2, 17), depthwise(1), conv(1, 1, 33)}},
                {2, 13, 11, 24, {depthwise(2), depthwise(1), conv(3, 1, 40)}},
                {1, 1, 1, 16, {conv(3, 1, 16), depthwise(1), conv(1, 1, 8)}},
                {2, 1, 9, 5, {conv(3, 2, 16), depthwise(2), conv(1, 1, 7)}},
                {1, 10, 1, 48, {depthwise(1), conv(1, 1, 3)}},
                {2, 17, 12, 24, {conv(5, 1, 10, Padding::kValid), conv(1, 2, 20)}},
                {1,
                 31,
                 15,
                 32,
                 {depthwise(2, Padding::kValid), conv(3, 2, 49, Padding::kValid), depthwise(1),
                  conv(1, 1, 9)}}});
}

TEST(ConvChain, RunRowsKeepEnoughInputPerRun) {
  ConvShape s = Chain{1, 112, 112, 32, {depthwise(1), conv(1, 1, 64)}}.shapes().back().shape;
  EXPECT_EQ(x86::conv_chain_run_rows(s), 4);  // 14 KiB a row
  s = Chain{1, 64, 64, 8, {depthwise(1), conv(1, 1, 16)}}.shapes().back().shape;
  EXPECT_EQ(x86::conv_chain_run_rows(s), 16);  // 2 KiB a row
  s = Chain{1, 1, 1, 16, {depthwise(1), conv(1, 1, 8)}}.shapes().back().shape;
  EXPECT_EQ(x86::conv_chain_run_rows(s), 512);
}

// The plan's steps for a simple chain, by hand: a 3x3 SAME convolution of 8 rows, then a
// depthwise layer of stride 2 (4 rows), one thread, runs of 4 rows of the last layer: one
// segment; the depthwise layer's rows 0-3 read the convolution's rows 0-7, which read the
// input's 0-7.
TEST(ConvChain, PlanPullsTheRowsEachLayerNeeds) {
  const auto shapes = Chain{1, 8, 64, 4, {conv(3, 1, 16), depthwise(2)}}.shapes();
  for (x86::Isa isa : simd_isas()) {
    const x86::PackedConvFilter f =
        x86::pack_conv_filter(isa, 3, 3, 4, 16, random_floats(9 * 4 * 16, 1));
    const std::vector<const x86::PackedConvFilter*> filters = {&f, nullptr};
    const x86::ConvChainPlan plan(shapes, filters, 1);
    ASSERT_EQ(plan.segments().size(), 1u);
    ASSERT_EQ(plan.steps().size(), 2u);
    const auto& conv_step = plan.steps()[0];
    EXPECT_EQ(conv_step.layer, 0);
    EXPECT_EQ(conv_step.row, 0);
    EXPECT_EQ(conv_step.rows, 8);
    EXPECT_EQ(conv_step.in_row, 0);
    const auto& dw_step = plan.steps()[1];
    EXPECT_EQ(dw_step.layer, 1);
    EXPECT_EQ(dw_step.rows, 4);
    EXPECT_EQ(plan.window_rows(0), 8);
  }
}

// Two runs in a segment: the second keeps the rows the first computed that it reads again,
// and adds only the rest.
TEST(ConvChain, PlanKeepsTheRowsTheNextRunReadsAgain) {
  // 16 rows of 64 x 16 channels (4 KiB a row): runs of 8 rows, two to a segment (a halo).
  const auto shapes = Chain{1, 16, 64, 16, {depthwise(1), depthwise(1)}}.shapes();
  const std::vector<const x86::PackedConvFilter*> filters = {nullptr, nullptr};
  const x86::ConvChainPlan plan(shapes, filters, 1);
  ASSERT_EQ(plan.segments().size(), 1u);
  ASSERT_EQ(plan.steps().size(), 4u);
  // Run 1: the first layer's rows 0-8 (the second's rows 0-7 read one more), then 0-7.
  EXPECT_EQ(plan.steps()[0].row, 0);
  EXPECT_EQ(plan.steps()[0].rows, 9);
  EXPECT_EQ(plan.steps()[1].rows, 8);
  // Run 2: rows 9-15 of the first layer, keeping rows 7 and 8 (read again by rows 8 and 9).
  const auto& again = plan.steps()[2];
  EXPECT_EQ(again.layer, 0);
  EXPECT_EQ(again.row, 9);
  EXPECT_EQ(again.rows, 7);
  EXPECT_EQ(again.keep_from, 7);
  EXPECT_EQ(again.keep_rows, 2);
  EXPECT_EQ(again.out_row, 2);
  EXPECT_EQ(plan.steps()[3].in_row, 0);
  EXPECT_EQ(plan.window_rows(0), 9);
}

TEST(ConvChain, PlanRejectsLayersThatDoNotChain) {
  for (x86::Isa isa : simd_isas()) {
    const x86::PackedConvFilter f =
        x86::pack_conv_filter(isa, 1, 1, 16, 8, random_floats(16 * 8, 1));
    const std::vector<const x86::PackedConvFilter*> filters = {nullptr, &f};
    // The 1x1 filter takes 16 channels; the depthwise layer gives 12.
    const auto wrong = Chain{1, 6, 6, 12, {depthwise(1), conv(1, 1, 8)}}.shapes();
    // The 1x1 layer's input is not the depthwise layer's output (stride 2 given 6 rows).
    auto mismatched = Chain{1, 6, 6, 16, {depthwise(2), conv(1, 1, 8)}}.shapes();
    mismatched[1].shape.in_h = mismatched[1].shape.out_h = 6;
    for (const auto& shapes : {wrong, mismatched}) {
      expect_error([&] { const x86::ConvChainPlan plan(shapes, filters, 1); }, "layer 1");
    }
  }
}

// A chain's attributes: a stride-2 depthwise layer with Relu6, then a 1x1 layer with
// `pointwise_ops` as its epilogue.
std::map<std::string, AttrValue> pair_attrs(std::vector<std::string> pointwise_ops) {
  return {{"layer_ops", std::vector<std::string>{"DepthwiseConv2dNative", "Conv2D"}},
          {"0/padding", std::string("SAME")},
          {"0/strides", std::vector<int64_t>{1, 2, 2, 1}},
          {"0/fused_ops", std::vector<std::string>{"BiasAdd", "Relu6"}},
          {"1/padding", std::string("SAME")},
          {"1/strides", std::vector<int64_t>{1, 1, 1, 1}},
          {"1/fused_ops", std::move(pointwise_ops)}};
}

TEST(ConvChain, OpMatchesTheReferenceOnEveryIsaConstantOrFed) {
  const int64_t c = 19, out_c = 7;
  const std::vector<Tensor> inputs = {
      floats({2, 9, 8, c}, random_floats(2 * 9 * 8 * c, 6, -3.f, 3.f)),
      floats({3, 3, c, 1}, random_floats(9 * c, 7)), floats({c}, random_floats(c, 8)),
      floats({1, 1, c, out_c}, random_floats(c * out_c, 9)),
      floats({out_c}, random_floats(out_c, 10))};
  // run_op1 runs the op with its weights as constants (packed once) and fed (packed per run).
  const Tensor want =
      run_op1("_FusedConvChain", inputs, pair_attrs({"BiasAdd"}), Backend::kReference);
  EXPECT_EQ(want.shape(), (Shape{2, 5, 4, out_c}));
  for (x86::Isa isa : x86::available_isas()) {
    SCOPED_TRACE(x86::isa_name(isa));
    x86::force_isa(isa);
    expect_close(
        floats(run_op1("_FusedConvChain", inputs, pair_attrs({"BiasAdd"}), Backend::kNative)),
        floats(want), 1e-5f);
  }
  x86::force_isa(std::nullopt);
}

TEST(ConvChain, OpCountsBothLayersAndTakesEmptyChannels) {
  // 2x5x4 output pixels: the depthwise layer's 9 multiply-adds and bias per channel (19), the
  // 1x1 layer's 19 per output channel (7).
  const int64_t c = 19, out_c = 7;
  Executable exe = load_op("_FusedConvChain",
                           {fed_input(DType::kFloat32, Shape{2, 9, 8, c}),
                            constant_input(floats({3, 3, c, 1}, random_floats(9 * c, 1))),
                            constant_input(floats({c}, random_floats(c, 2))),
                            constant_input(floats({1, 1, c, out_c}, random_floats(c * out_c, 3))),
                            constant_input(floats({out_c}, random_floats(out_c, 4)))},
                           pair_attrs({"BiasAdd"}));
  EXPECT_EQ(exe.steps().at(0).flops, 40 * c * (2 * 9 + 1) + 2 * 40 * out_c * c);
  // No output channels, no input channels, neither: 2x2 output pixels, no division by zero.
  for (const auto& [in_c, pw_out] : {std::pair<int64_t, int64_t>{3, 0}, {0, 0}, {0, 2}}) {
    SCOPED_TRACE(::testing::Message() << in_c << " -> " << pw_out);
    const std::vector<Tensor> inputs = {
        Tensor(DType::kFloat32, {1, 4, 4, in_c}), Tensor(DType::kFloat32, {3, 3, in_c, 1}),
        Tensor(DType::kFloat32, {in_c}), Tensor(DType::kFloat32, {1, 1, in_c, pw_out}),
        Tensor(DType::kFloat32, {pw_out})};
    for (Backend backend : {Backend::kReference, Backend::kNative}) {
      EXPECT_EQ(run_op1("_FusedConvChain", inputs, pair_attrs({"BiasAdd"}), backend).shape(),
                (Shape{1, 2, 2, pw_out}));
    }
    std::vector<TensorInfo> infos;
    for (const Tensor& t : inputs) infos.push_back(constant_input(t));
    infos[0] = fed_input(DType::kFloat32, inputs[0].shape());
    EXPECT_EQ(load_op("_FusedConvChain", infos, pair_attrs({"BiasAdd"})).steps().at(0).flops,
              4 * in_c * (2 * 9 + 1) + 2 * 4 * pw_out * in_c);
  }
}

TEST(ConvChain, OpRejectsLayersThatDoNotFollow) {
  const std::vector<Tensor> good = {
      floats({1, 4, 4, 2}, std::vector<float>(32)), floats({3, 3, 2, 1}, std::vector<float>(18)),
      floats({2}, {1, 2}), floats({1, 1, 2, 3}, std::vector<float>(6)), floats({3}, {1, 2, 3})};
  std::vector<Tensor> bad = good;
  bad[3] = floats({1, 1, 4, 3}, std::vector<float>(12));
  EXPECT_NE(run_op_error("_FusedConvChain", bad, pair_attrs({"BiasAdd"}))
                .find("do not follow the layer before"),
            std::string::npos);
  bad = good;
  bad[1] = floats({0, 3, 2, 1}, {});  // no rows of taps
  EXPECT_NE(run_op_error("_FusedConvChain", bad, pair_attrs({"BiasAdd"}))
                .find("do not follow the layer before"),
            std::string::npos);
  bad = good;
  bad[4] = floats({2}, {1, 2});
  EXPECT_NE(run_op_error("_FusedConvChain", bad, pair_attrs({"BiasAdd"}))
                .find("do not follow the layer before"),
            std::string::npos);
  auto attrs = pair_attrs({"BiasAdd"});
  attrs.erase("layer_ops");
  EXPECT_NE(run_op_error("_FusedConvChain", good, attrs).find("attribute 'layer_ops'"),
            std::string::npos);
  attrs = pair_attrs({"BiasAdd"});
  attrs["layer_ops"] = std::vector<std::string>{"MaxPool", "Conv2D"};
  EXPECT_NE(
      run_op_error("_FusedConvChain", good, attrs).find("must be Conv2D or DepthwiseConv2dNative"),
      std::string::npos);
  EXPECT_NE(run_op_error("_FusedConvChain", good, pair_attrs({"Relu"}))
                .find("fused_ops [Relu] is not supported"),
            std::string::npos);
}

// MobileNet's layers, one after the other from a placeholder "x": convolutions and 3x3
// depthwise convolutions, each with batch norm (Mul + Add) and Relu6 ("<name>/relu").
struct Net {
  TestGraph t;
  Endpoint last;
  int64_t channels;
  uint32_t seed = 1;

  explicit Net(Shape input) : channels(input.back()) {
    last = t.placeholder("x", PartialShape(std::move(input)));
  }
  Endpoint constant(const std::string& name, Shape shape) {
    return t.constant(name, floats(shape, random_floats(num_elements(shape), seed++)));
  }
  Net& layer(const std::string& name, const std::string& op, Shape filter, int64_t stride,
             int64_t out_c, int64_t dilation = 1) {
    Endpoint y = t.op(name, op, {last, constant(name + "/w", std::move(filter))},
                      {{"padding", std::string("SAME")},
                       {"strides", std::vector<int64_t>{1, stride, stride, 1}},
                       {"dilations", std::vector<int64_t>{1, dilation, dilation, 1}}});
    Endpoint mul = t.op(name + "/mul", "Mul", {y, constant(name + "/scale", {out_c})});
    Endpoint add = t.op(name + "/add", "Add", {mul, constant(name + "/shift", {out_c})});
    last = t.op(name + "/relu", "Relu6", {add});
    channels = out_c;
    return *this;
  }
  Net& conv(const std::string& name, int64_t k, int64_t stride, int64_t out_c) {
    return layer(name, "Conv2D", {k, k, channels, out_c}, stride, out_c);
  }
  Net& depthwise(const std::string& name, int64_t stride, int64_t dilation = 1) {
    return layer(name, "DepthwiseConv2dNative", {3, 3, channels, 1}, stride, channels, dilation);
  }

  // The steps' ops and the fetches' values for `options`.
  std::pair<std::vector<std::string>, std::vector<Tensor>> run(
      ExecOptions options, std::vector<std::string> fetches = {}) const {
    if (fetches.empty()) fetches = {t.g.endpoint_name(last)};
    Executable exe(t.g, {"x:0"}, fetches, options);
    std::vector<std::string> ops;
    for (const StepInfo& step : exe.steps()) ops.push_back(step.op);
    Tensor feed = floats(exe.feed_info(0).shape.known(),
                         random_floats(num_elements(exe.feed_info(0).shape.known()), 5, -3, 3));
    return {ops, exe.run(std::span(&feed, 1))};
  }
};

// MobileNet's block: a depthwise 3x3 then a 1x1 convolution to `out_c` channels.
Net mobilenet_block(int64_t c, int64_t out_c, int64_t pointwise_stride = 1) {
  Net net({2, 9, 9, c});
  net.depthwise("dw", 1).conv("pw", 1, pointwise_stride, out_c);
  return net;
}

ExecOptions with(Backend backend, int threads) {
  ExecOptions o;
  o.backend = backend;
  o.threads = threads;
  return o;
}

TEST(ConvChain, OptimiserFusesMobileNetBlockForTheNativeBackend) {
  const Net block = mobilenet_block(20, 24);
  const auto [plain_ops, plain] = block.run(with(Backend::kReference, 1));
  EXPECT_EQ(plain_ops.size(), 8u);
  // One thread, and two with the batch split image by image and the layer split.
  for (const ExecOptions& options : {with(Backend::kNative, 1), with(Backend::kNative, 2), [] {
                                       ExecOptions o = with(Backend::kNative, 2);
                                       o.batch_split = BatchSplit::kOff;
                                       return o;
                                     }()}) {
    const auto [ops, got] = block.run(options);
    EXPECT_EQ(ops, (std::vector<std::string>{"_FusedConvChain"}));
    expect_close(floats(got[0]), floats(plain[0]), 1e-5f);
  }
  ExecOptions off = with(Backend::kNative, 1);
  off.fuse_depthwise_pointwise = false;
  EXPECT_EQ(block.run(off).first,
            (std::vector<std::string>{"_FusedDepthwiseConv2dNative", "_FusedConv2D"}));
}

TEST(ConvChain, OptimiserLeavesPairsItShouldNotFuse) {
  const std::vector<std::string> unfused = {"_FusedDepthwiseConv2dNative", "_FusedConv2D"};
  // The depthwise output fetched too.
  EXPECT_EQ(
      mobilenet_block(20, 24).run(with(Backend::kNative, 1), {"pw/relu:0", "dw/relu:0"}).first,
      unfused);
  // A 1x1 filter over 256 KiB (256 x 257 floats), which each run of rows would read again.
  EXPECT_EQ(mobilenet_block(256, 257).run(with(Backend::kNative, 1)).first, unfused);
  // A strided 1x1 convolution.
  EXPECT_EQ(mobilenet_block(20, 24, 2).run(with(Backend::kNative, 1)).first, unfused);
  // A dilated depthwise layer, which the chain's kernel does not take: the pair failed at run
  // time ("does not follow the layer before it").
  Net dilated({2, 9, 9, 20});
  dilated.depthwise("dw", 1, 2).conv("pw", 1, 1, 24);
  const auto [ops, got] = dilated.run(with(Backend::kNative, 1));
  EXPECT_EQ(ops, unfused);
  expect_close(floats(got[0]), floats(dilated.run(with(Backend::kReference, 1)).second[0]), 1e-5f);
  // Either op on another backend (the pair has no oneDNN form).
  for (const char* op : {"Conv2D", "DepthwiseConv2dNative"}) {
    SCOPED_TRACE(op);
    ExecOptions o = with(Backend::kNative, 1);
    o.op_backends[op] = Backend::kOneDnn;
    EXPECT_EQ(mobilenet_block(20, 24).run(o).first, unfused);
  }
}

// A graph may leave its input's channels open ([?,?,?,?], or no rank at all): the pair then
// runs as two layers, since a chain checks its layers' filters against its input's channels at
// load. It was fused, and refused as "layer 0's input <unknown> ... do not follow".
TEST(ConvChain, OptimiserLeavesAPairWhoseInputChannelsAreOpen) {
  PartialShape no_channels;
  no_channels.known_rank = true;
  no_channels.dims = {-1, -1, -1, -1};
  const Tensor feed = floats({2, 9, 9, 20}, random_floats(2 * 9 * 9 * 20, 5, -3, 3));
  for (const PartialShape& open : {PartialShape::unknown(), no_channels}) {
    Net block = mobilenet_block(20, 24);
    block.t.g.node(block.t.g.find("x")).attrs["shape"] = open;
    auto run = [&](Backend backend) {
      Executable exe(block.t.g, {"x:0"}, {"pw/relu:0"}, with(backend, 1));
      return exe.run(std::span(&feed, 1))[0];
    };
    expect_close(floats(run(Backend::kNative)), floats(run(Backend::kReference)), 1e-5f);
  }
}

// A stem and two pairs whose outputs take more than 1 MiB per image (65x65x64) and whose
// filters take 60 KiB: one chain, as MobileNet v1 1.0's first layers.
Net stem_and_pairs(int64_t size, int64_t stem_k, int64_t stem_stride, int64_t last_c) {
  Net net({1, size, size, 3});
  net.conv("stem", stem_k, stem_stride, 64).depthwise("dw1", 1).conv("pw1", 1, 1, 64);
  net.depthwise("dw2", 2).conv("pw2", 1, 1, last_c);
  return net;
}

TEST(ConvChain, OptimiserChainsTheLayersBeforeAPairWhoseOutputsAreLarge) {
  const Net net = stem_and_pairs(130, 3, 2, 128);
  const auto [plain_ops, plain] = net.run(with(Backend::kReference, 1));
  for (int threads : {1, 2}) {
    const auto [ops, got] = net.run(with(Backend::kNative, threads));
    EXPECT_EQ(ops, (std::vector<std::string>{"_FusedConvChain"}));
    expect_close(floats(got[0]), floats(plain[0]), 1e-4f);
  }
}

TEST(ConvChain, OptimiserStopsAChainWhereItShould) {
  const std::vector<std::string> apart = {"_FusedConv2D", "_FusedConvChain", "_FusedConvChain"};
  // Outputs of 60x60x64, under 1 MiB per image: each layer's output stays in L2 anyway.
  EXPECT_EQ(stem_and_pairs(120, 3, 2, 128).run(with(Backend::kNative, 1)).first, apart);
  // The second pair's 1x1 filter (64 KiB) would take the chain's filters past 64 KiB.
  EXPECT_EQ(stem_and_pairs(130, 3, 2, 256).run(with(Backend::kNative, 1)).first,
            (std::vector<std::string>{"_FusedConvChain", "_FusedConvChain"}));
  // A stride-1 3x3 convolution (which may run Winograd) stays apart; the pairs after it join.
  EXPECT_EQ(stem_and_pairs(65, 3, 1, 128).run(with(Backend::kNative, 1)).first,
            (std::vector<std::string>{"_FusedConv2D", "_FusedConvChain"}));
  // The stem's output fetched too.
  EXPECT_EQ(stem_and_pairs(130, 3, 2, 128)
                .run(with(Backend::kNative, 1), {"pw2/relu:0", "stem/relu:0"})
                .first,
            (std::vector<std::string>{"_FusedConv2D", "_FusedConvChain"}));
}

}  // namespace
}  // namespace poet::testing
