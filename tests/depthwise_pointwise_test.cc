// A depthwise convolution and the 1x1 convolution after it, run a few rows at a time through
// both kernels (kernels/x86/depthwise_pointwise_nhwc.h), against the two reference kernels in
// turn, for every ISA this machine can run: MobileNet v1's pairs, odd channel counts, tiny and
// odd-sized images, stride 2, other windows, batches, and 1-3 threads. Also the rows each
// thread takes, the _FusedDepthwisePointwise op on each ISA and with fed weights, and the
// optimiser making it from MobileNet's layers only where it should.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "engine/executor.h"
#include "engine/thread_pool.h"
#include "kernels/ref/conv2d.h"
#include "kernels/ref/depthwise_conv2d.h"
#include "kernels/x86/depthwise_pointwise_nhwc.h"
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

struct Pair {
  int64_t batch, h, w, c;
  int64_t k, stride;
  Padding padding;
  int64_t out_c;

  ConvShape depthwise() const { return window_shape(batch, h, w, c, k, stride, padding); }
  ConvShape pointwise() const {
    const ConvShape d = depthwise();
    ConvShape s;
    s.batch = batch;
    s.in_h = s.out_h = d.out_h;
    s.in_w = s.out_w = d.out_w;
    s.in_c = c;
    s.out_c = out_c;
    return s;
  }
};

// Inputs span [-3, 3] so the depthwise sums cross Relu6's upper clamp.
void check_pair(const Pair& pair, ThreadPool* pool) {
  const ConvShape d = pair.depthwise(), p = pair.pointwise();
  SCOPED_TRACE(::testing::Message()
               << pair.batch << "x" << pair.h << "x" << pair.w << "x" << pair.c << " " << pair.k
               << "x" << pair.k << " stride " << pair.stride << " -> " << pair.out_c << ", "
               << pool_threads(pool) << " threads");
  const auto input = random_floats(d.input_size(), 1, -3.f, 3.f);
  const auto dw_filter = random_floats(d.k_h * d.k_w * d.out_c, 2);
  const auto dw_bias = random_floats(d.out_c, 3);
  const auto pw_filter = random_floats(p.in_c * p.out_c, 4);
  const auto pw_bias = random_floats(p.out_c, 5);
  std::vector<float> between(d.output_size()), want(p.output_size());
  kernels::ref::depthwise_conv2d(d, input, dw_filter, dw_bias, Activation::kRelu6, between);
  kernels::ref::conv2d(p, between, pw_filter, pw_bias, Activation::kRelu, want);
  const x86::PackedDepthwiseWeights dw =
      x86::pack_depthwise_weights(d.k_h, d.k_w, d.out_c, dw_filter, dw_bias);
  for (x86::Isa isa : simd_isas()) {
    SCOPED_TRACE(x86::isa_name(isa));
    const x86::PackedConvFilter pw = x86::pack_conv_filter(isa, 1, 1, p.in_c, p.out_c, pw_filter);
    const x86::DepthwisePointwisePlan plan(d, pw, pool_threads(pool));
    std::vector<float> got(p.output_size(), NAN);
    x86::depthwise_pointwise_nhwc(plan, input, dw, Activation::kRelu6, pw, pw_bias,
                                  Activation::kRelu, got, pool);
    // As the 1x1 kernel's own tests: sums over up to 256 channels in another order.
    expect_close(got, want, 1e-4f);
  }
}

void check_pairs(const std::vector<Pair>& pairs) {
  ThreadPool two(2), three(3);
  for (const Pair& pair : pairs)
    for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &two, &three})
      check_pair(pair, pool);
}

TEST(DepthwisePointwise, MobileNetV1Pairs) {
  // MobileNet v1 1.0_224's pairs the optimiser fuses (1x1 filters up to 256 KiB), and 0.25_128's
  // first ones, whose runs are 16 rows (32 KiB of a 64x64x8 depthwise output).
  check_pairs({{1, 112, 112, 32, 3, 1, Padding::kSame, 64},
               {1, 112, 112, 64, 3, 2, Padding::kSame, 128},
               {1, 56, 56, 128, 3, 1, Padding::kSame, 128},
               {1, 56, 56, 128, 3, 2, Padding::kSame, 256},
               {1, 28, 28, 256, 3, 1, Padding::kSame, 256},
               {1, 64, 64, 8, 3, 1, Padding::kSame, 16},
               {1, 64, 64, 16, 3, 2, Padding::kSame, 32}});
}

TEST(DepthwisePointwise, OddShapesBatchesAndWindows) {
  // Channels off the vector width on both sides, images of one pixel, a row or a column, odd
  // heights cut unevenly over 2 and 3 threads, batches whose runs end at image boundaries,
  // VALID padding and other windows.
  check_pairs({{1, 9, 7, 19, 3, 1, Padding::kSame, 21},
               {3, 5, 6, 17, 3, 2, Padding::kSame, 33},
               {2, 13, 11, 24, 3, 1, Padding::kSame, 40},
               {1, 1, 1, 16, 3, 1, Padding::kSame, 8},
               {2, 1, 9, 5, 3, 2, Padding::kSame, 7},
               {1, 10, 1, 48, 3, 1, Padding::kSame, 3},
               {2, 12, 9, 24, 5, 1, Padding::kValid, 10},
               {1, 17, 15, 32, 3, 2, Padding::kValid, 49}});
}

TEST(DepthwisePointwise, RunRowsKeepEnoughOutputPerRun) {
  ConvShape s = Pair{1, 112, 112, 32, 3, 1, Padding::kSame, 64}.depthwise();
  EXPECT_EQ(x86::depthwise_pointwise_run_rows(s), 4);  // 14 KiB a row
  s = Pair{1, 64, 64, 8, 3, 1, Padding::kSame, 16}.depthwise();
  EXPECT_EQ(x86::depthwise_pointwise_run_rows(s), 16);  // 2 KiB a row
  s = Pair{1, 1, 1, 16, 3, 1, Padding::kSame, 8}.depthwise();
  EXPECT_EQ(x86::depthwise_pointwise_run_rows(s), 512);
}

TEST(DepthwisePointwise, RowRunsGiveEachThreadOneBandWithinImages) {
  // 2 images of 10 rows over 3 threads in runs of at most 3: bands [0, 6), [6, 13), [13, 20),
  // the second cut at the first image's end.
  std::vector<std::pair<int64_t, int64_t>> got;
  for (const x86::RowRun& r : x86::row_runs(2, 10, 3, 3)) got.emplace_back(r.row, r.rows);
  EXPECT_EQ(got, (std::vector<std::pair<int64_t, int64_t>>{
                     {0, 3}, {3, 3}, {6, 3}, {9, 1}, {10, 3}, {13, 3}, {16, 3}, {19, 1}}));
}

TEST(DepthwisePointwise, PlanRejectsFiltersThatDoNotFollow) {
  const ConvShape d = Pair{1, 6, 6, 16, 3, 1, Padding::kSame, 8}.depthwise();
  for (x86::Isa isa : simd_isas()) {
    const x86::PackedConvFilter wrong_channels =
        x86::pack_conv_filter(isa, 1, 1, 12, 8, random_floats(12 * 8, 1));
    const x86::PackedConvFilter not_1x1 =
        x86::pack_conv_filter(isa, 3, 3, 16, 8, random_floats(9 * 16 * 8, 1));
    for (const x86::PackedConvFilter* f : {&wrong_channels, &not_1x1}) {
      try {
        x86::DepthwisePointwisePlan plan(d, *f, 1);
        ADD_FAILURE() << "accepted a " << f->k_h << "x" << f->k_w << " filter of " << f->in_c
                      << " channels";
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot feed"), std::string::npos) << e.what();
      }
    }
  }
}

std::map<std::string, AttrValue> pair_attrs(std::vector<std::string> pointwise_ops) {
  return {{"padding", std::string("SAME")},
          {"strides", std::vector<int64_t>{1, 2, 2, 1}},
          {"fused_ops", std::vector<std::string>{"BiasAdd", "Relu6"}},
          {"num_args", int64_t{1}},
          {"pointwise_fused_ops", std::move(pointwise_ops)}};
}

TEST(DepthwisePointwise, OpMatchesTheReferenceOnEveryIsaConstantOrFed) {
  const int64_t c = 19, out_c = 7;
  const std::vector<Tensor> inputs = {
      floats({2, 9, 8, c}, random_floats(2 * 9 * 8 * c, 6, -3.f, 3.f)),
      floats({3, 3, c, 1}, random_floats(9 * c, 7)), floats({c}, random_floats(c, 8)),
      floats({1, 1, c, out_c}, random_floats(c * out_c, 9)),
      floats({out_c}, random_floats(out_c, 10))};
  // run_op1 runs the op with its weights as constants (packed once) and fed (packed per run).
  const Tensor want =
      run_op1("_FusedDepthwisePointwise", inputs, pair_attrs({"BiasAdd"}), Backend::kReference);
  EXPECT_EQ(want.shape(), (Shape{2, 5, 4, out_c}));
  for (x86::Isa isa : x86::available_isas()) {
    SCOPED_TRACE(x86::isa_name(isa));
    x86::force_isa(isa);
    expect_close(floats(run_op1("_FusedDepthwisePointwise", inputs, pair_attrs({"BiasAdd"}),
                                Backend::kNative)),
                 floats(want), 1e-5f);
  }
  x86::force_isa(std::nullopt);
}

TEST(DepthwisePointwise, OpCountsBothLayersAndTakesEmptyChannels) {
  // 2x5x4 output pixels: the depthwise layer's 9 multiply-adds and bias per channel (19), the
  // 1x1 layer's 19 per output channel (7).
  const int64_t c = 19, out_c = 7;
  Executable exe = load_op("_FusedDepthwisePointwise",
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
      EXPECT_EQ(
          run_op1("_FusedDepthwisePointwise", inputs, pair_attrs({"BiasAdd"}), backend).shape(),
          (Shape{1, 2, 2, pw_out}));
    }
    std::vector<TensorInfo> infos;
    for (const Tensor& t : inputs) infos.push_back(constant_input(t));
    infos[0] = fed_input(DType::kFloat32, inputs[0].shape());
    EXPECT_EQ(
        load_op("_FusedDepthwisePointwise", infos, pair_attrs({"BiasAdd"})).steps().at(0).flops,
        4 * in_c * (2 * 9 + 1) + 2 * 4 * pw_out * in_c);
  }
}

TEST(DepthwisePointwise, OpRejectsWhatIsNotAPair) {
  const std::vector<Tensor> good = {
      floats({1, 4, 4, 2}, std::vector<float>(32)), floats({3, 3, 2, 1}, std::vector<float>(18)),
      floats({2}, {1, 2}), floats({1, 1, 2, 3}, std::vector<float>(6)), floats({3}, {1, 2, 3})};
  std::vector<Tensor> bad = good;
  bad[3] = floats({1, 1, 4, 3}, std::vector<float>(12));
  EXPECT_NE(run_op_error("_FusedDepthwisePointwise", bad, pair_attrs({"BiasAdd"}))
                .find("do not make a depthwise and 1x1 pair"),
            std::string::npos);
  bad = good;
  bad[4] = floats({2}, {1, 2});
  EXPECT_NE(run_op_error("_FusedDepthwisePointwise", bad, pair_attrs({"BiasAdd"}))
                .find("do not make a depthwise and 1x1 pair"),
            std::string::npos);
  EXPECT_NE(run_op_error("_FusedDepthwisePointwise", good, pair_attrs({"Relu"}))
                .find("pointwise_fused_ops [Relu] is not supported"),
            std::string::npos);
}

// MobileNet's block: a depthwise 3x3 with batch norm (Mul + Add) and Relu6, then a 1x1
// convolution with the same, to `out_c` channels.
struct Block {
  TestGraph t;
  Endpoint constant(const std::string& name, Shape shape, uint32_t seed) {
    return t.constant(name, floats(shape, random_floats(num_elements(shape), seed)));
  }
  Endpoint batch_norm_relu6(const std::string& name, Endpoint x, int64_t c) {
    Endpoint mul = t.op(name + "/mul", "Mul", {x, constant(name + "/scale", {c}, 3)});
    Endpoint add = t.op(name + "/add", "Add", {mul, constant(name + "/shift", {c}, 4)});
    return t.op(name + "/relu", "Relu6", {add});
  }
  explicit Block(int64_t c, int64_t out_c, int64_t pointwise_stride = 1) {
    Endpoint x = t.placeholder("x", PartialShape(Shape{2, 9, 9, c}));
    Endpoint dw =
        t.op("dw", "DepthwiseConv2dNative", {x, constant("dw/w", {3, 3, c, 1}, 1)},
             {{"padding", std::string("SAME")}, {"strides", std::vector<int64_t>{1, 1, 1, 1}}});
    Endpoint pw =
        t.op("pw", "Conv2D", {batch_norm_relu6("dw", dw, c), constant("pw/w", {1, 1, c, out_c}, 2)},
             {{"padding", std::string("SAME")},
              {"strides", std::vector<int64_t>{1, pointwise_stride, pointwise_stride, 1}}});
    batch_norm_relu6("pw", pw, out_c);
  }

  // The steps' ops and the fetches' values for `options`.
  std::pair<std::vector<std::string>, std::vector<Tensor>> run(ExecOptions options,
                                                               std::vector<std::string> fetches = {
                                                                   "pw/relu:0"}) const {
    Executable exe(t.g, {"x:0"}, fetches, options);
    std::vector<std::string> ops;
    for (const StepInfo& step : exe.steps()) ops.push_back(step.op);
    Tensor feed = floats(exe.feed_info(0).shape.known(),
                         random_floats(num_elements(exe.feed_info(0).shape.known()), 5, -3, 3));
    return {ops, exe.run(std::span(&feed, 1))};
  }
};

ExecOptions with(Backend backend, int threads) {
  ExecOptions o;
  o.backend = backend;
  o.threads = threads;
  return o;
}

TEST(DepthwisePointwise, OptimiserFusesMobileNetBlockForTheNativeBackend) {
  const Block block(20, 24);
  const auto [plain_ops, plain] = block.run(with(Backend::kReference, 1));
  EXPECT_EQ(plain_ops.size(), 8u);
  // One thread, and two with the batch split image by image and the layer split.
  for (const ExecOptions& options : {with(Backend::kNative, 1), with(Backend::kNative, 2), [] {
                                       ExecOptions o = with(Backend::kNative, 2);
                                       o.batch_split = BatchSplit::kOff;
                                       return o;
                                     }()}) {
    const auto [ops, got] = block.run(options);
    EXPECT_EQ(ops, (std::vector<std::string>{"_FusedDepthwisePointwise"}));
    expect_close(floats(got[0]), floats(plain[0]), 1e-5f);
  }
  ExecOptions off = with(Backend::kNative, 1);
  off.fuse_depthwise_pointwise = false;
  EXPECT_EQ(block.run(off).first,
            (std::vector<std::string>{"_FusedDepthwiseConv2dNative", "_FusedConv2D"}));
}

TEST(DepthwisePointwise, OptimiserLeavesPairsItShouldNotFuse) {
  const std::vector<std::string> unfused = {"_FusedDepthwiseConv2dNative", "_FusedConv2D"};
  // The depthwise output fetched too.
  EXPECT_EQ(Block(20, 24).run(with(Backend::kNative, 1), {"pw/relu:0", "dw/relu:0"}).first,
            unfused);
  // A 1x1 filter over 256 KiB (256 x 257 floats), which each run of rows would read again.
  EXPECT_EQ(Block(256, 257).run(with(Backend::kNative, 1)).first, unfused);
  // A strided 1x1 convolution.
  EXPECT_EQ(Block(20, 24, 2).run(with(Backend::kNative, 1)).first, unfused);
  // Either op on another backend (the pair has no oneDNN form).
  for (const char* op : {"Conv2D", "DepthwiseConv2dNative"}) {
    SCOPED_TRACE(op);
    ExecOptions o = with(Backend::kNative, 1);
    o.op_backends[op] = Backend::kOneDnn;
    EXPECT_EQ(Block(20, 24).run(o).first, unfused);
  }
}

}  // namespace
}  // namespace poet::testing
