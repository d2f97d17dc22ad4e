// Replicas of Inception v3 (2015) and MobileNet v1: node names, ops and attributes as the
// released files have them, every layer's shape from an independent walk over the GraphDef,
// FLOPs, seeded weights that are identical everywhere, and the MobileNet replica node-by-node
// against the real frozen graph.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <numeric>

#include "engine/executor.h"
#include "engine/file_io.h"
#include "importers/tensorflow/graphdef.h"
#include "importers/tensorflow/replicas/mobilenet_v1.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"
#include "tests/kernel_test_util.h"

namespace poet::testing {
namespace {

using tensorflow::GraphDef;
using tensorflow::NodeDef;
using namespace poet::tf::replicas;

// Weights made fast: a constant per role, enough for structure tests.
Tensor constant_weight(const WeightRequest& r) {
  Tensor t(DType::kFloat32, r.shape);
  float v = r.role == WeightRole::kBnVariance ? 1.0f : 0.01f;
  for (float& x : t.data<float>()) x = v;
  return t;
}

const Replica& inception() {
  static const Replica replica = inception_v3_2015(constant_weight);
  return replica;
}

const NodeDef& node(const GraphDef& g, const std::string& name) {
  for (const NodeDef& n : g.node())
    if (n.name() == name) return n;
  fail("no node '", name, "'");
}

std::string input_node(const std::string& input) {
  std::string name = input[0] == '^' ? input.substr(1) : input;
  return name.substr(0, name.find(':'));
}

std::vector<int64_t> const_ints(const NodeDef& n) {
  const tensorflow::TensorProto& t = n.attr().at("value").tensor();
  std::vector<int64_t> out(t.int_val().begin(), t.int_val().end());
  const std::string& raw = t.tensor_content();
  for (size_t i = 0; i + 4 <= raw.size(); i += 4) {
    int32_t v;
    std::memcpy(&v, raw.data() + i, 4);
    out.push_back(v);
  }
  return out;
}

std::vector<int64_t> attr_ints(const NodeDef& n, const std::string& key) {
  const auto& list = n.attr().at(key).list().i();
  return {list.begin(), list.end()};
}

int64_t window_out(int64_t in, int64_t k, int64_t stride, const std::string& padding) {
  return padding == "SAME" ? (in + stride - 1) / stride : (in - k) / stride + 1;
}

// An independent shape walk over a GraphDef whose nodes come in topological order, written
// from TensorFlow's op definitions rather than from the replica builders; also counts the
// multiply-adds of Conv2D, DepthwiseConv2dNative and MatMul.
struct Walk {
  std::map<std::string, Shape> shapes;
  int64_t macs = 0;
  int conv2d_count = 0;
};

Walk walk(const GraphDef& g) {
  Walk w;
  std::map<std::string, const NodeDef*> by_name;
  for (const NodeDef& n : g.node()) {
    by_name[n.name()] = &n;
    auto in = [&](int i) -> const Shape& { return w.shapes.at(input_node(n.input(i))); };
    const std::string& op = n.op();
    Shape out;
    if (op == "Const") {
      for (const auto& d : n.attr().at("value").tensor().tensor_shape().dim())
        out.push_back(d.size());
    } else if (op == "Placeholder") {
      for (const auto& d : n.attr().at("shape").shape().dim()) out.push_back(d.size());
    } else if (op == "DecodeJpeg") {
      out = {-1, -1, n.attr().at("channels").i()};
    } else if (op == "ExpandDims") {
      out = in(0);
      out.insert(out.begin() + const_ints(*by_name.at(input_node(n.input(1))))[0], 1);
    } else if (op == "ResizeBilinear") {
      std::vector<int64_t> size = const_ints(*by_name.at(input_node(n.input(1))));
      out = {in(0)[0], size[0], size[1], in(0)[3]};
    } else if (op == "Add" || op == "Mul" || op == "Sub") {
      out = in(0).size() >= in(1).size() ? in(0) : in(1);
    } else if (op == "Conv2D" || op == "DepthwiseConv2dNative") {
      const Shape &x = in(0), &f = in(1);
      std::vector<int64_t> s = attr_ints(n, "strides");
      const std::string& pad = n.attr().at("padding").s();
      EXPECT_EQ(x[3], f[2]) << n.name();
      int64_t c = op == "Conv2D" ? f[3] : f[2] * f[3];
      out = {x[0], window_out(x[1], f[0], s[1], pad), window_out(x[2], f[1], s[2], pad), c};
      w.macs += out[1] * out[2] * f[0] * f[1] * (op == "Conv2D" ? f[2] * f[3] : f[2] * f[3]);
      w.conv2d_count += op == "Conv2D";
    } else if (op == "MaxPool" || op == "AvgPool") {
      std::vector<int64_t> k = attr_ints(n, "ksize"), s = attr_ints(n, "strides");
      const std::string& pad = n.attr().at("padding").s();
      out = {in(0)[0], window_out(in(0)[1], k[1], s[1], pad), window_out(in(0)[2], k[2], s[2], pad),
             in(0)[3]};
    } else if (op == "Concat") {
      int64_t axis = const_ints(*by_name.at(input_node(n.input(0))))[0];
      out = in(1);
      for (int i = 2; i < n.input_size(); ++i) out[axis] += in(i)[axis];
    } else if (op == "Reshape") {
      std::vector<int64_t> s = const_ints(*by_name.at(input_node(n.input(1))));
      int64_t total = num_elements(in(0)), known = 1;
      for (int64_t d : s) known *= d == -1 ? 1 : d;
      for (int64_t d : s) out.push_back(d == -1 ? total / known : d);
    } else if (op == "MatMul") {
      out = {in(0)[0], in(1)[1]};
      w.macs += in(0)[0] * in(0)[1] * in(1)[1];
    } else if (op == "Squeeze") {
      std::vector<int64_t> dims = attr_ints(n, "squeeze_dims");
      for (int64_t i = 0; i < static_cast<int64_t>(in(0).size()); ++i)
        if (std::find(dims.begin(), dims.end(), i) == dims.end()) out.push_back(in(0)[i]);
    } else {  // elementwise: Cast, Identity, CheckNumerics, Relu, Relu6, Rsqrt, BiasAdd, ...
      out = in(0);
    }
    w.shapes[n.name()] = out;
  }
  return w;
}

// Conv scope, kernel height and width, output size and channels, transcribed from the public
// ports of this very graph (hvy/chainer-inception-score, Lasagne Recipes, pytorch-fid).
struct ConvRow {
  const char* scope;
  int64_t kh, kw, size, channels;
};
const ConvRow kInceptionConvs[] = {
    {"conv", 3, 3, 149, 32},
    {"conv_1", 3, 3, 147, 32},
    {"conv_2", 3, 3, 147, 64},
    {"conv_3", 1, 1, 73, 80},
    {"conv_4", 3, 3, 71, 192},
    {"mixed/conv", 1, 1, 35, 64},
    {"mixed/tower/conv", 1, 1, 35, 48},
    {"mixed/tower/conv_1", 5, 5, 35, 64},
    {"mixed/tower_1/conv", 1, 1, 35, 64},
    {"mixed/tower_1/conv_1", 3, 3, 35, 96},
    {"mixed/tower_1/conv_2", 3, 3, 35, 96},
    {"mixed/tower_2/conv", 1, 1, 35, 32},
    {"mixed_1/conv", 1, 1, 35, 64},
    {"mixed_1/tower/conv", 1, 1, 35, 48},
    {"mixed_1/tower/conv_1", 5, 5, 35, 64},
    {"mixed_1/tower_1/conv", 1, 1, 35, 64},
    {"mixed_1/tower_1/conv_1", 3, 3, 35, 96},
    {"mixed_1/tower_1/conv_2", 3, 3, 35, 96},
    {"mixed_1/tower_2/conv", 1, 1, 35, 64},
    {"mixed_2/conv", 1, 1, 35, 64},
    {"mixed_2/tower/conv", 1, 1, 35, 48},
    {"mixed_2/tower/conv_1", 5, 5, 35, 64},
    {"mixed_2/tower_1/conv", 1, 1, 35, 64},
    {"mixed_2/tower_1/conv_1", 3, 3, 35, 96},
    {"mixed_2/tower_1/conv_2", 3, 3, 35, 96},
    {"mixed_2/tower_2/conv", 1, 1, 35, 64},
    {"mixed_3/conv", 3, 3, 17, 384},
    {"mixed_3/tower/conv", 1, 1, 35, 64},
    {"mixed_3/tower/conv_1", 3, 3, 35, 96},
    {"mixed_3/tower/conv_2", 3, 3, 17, 96},
    {"mixed_4/conv", 1, 1, 17, 192},
    {"mixed_4/tower/conv", 1, 1, 17, 128},
    {"mixed_4/tower/conv_1", 1, 7, 17, 128},
    {"mixed_4/tower/conv_2", 7, 1, 17, 192},
    {"mixed_4/tower_1/conv", 1, 1, 17, 128},
    {"mixed_4/tower_1/conv_1", 7, 1, 17, 128},
    {"mixed_4/tower_1/conv_2", 1, 7, 17, 128},
    {"mixed_4/tower_1/conv_3", 7, 1, 17, 128},
    {"mixed_4/tower_1/conv_4", 1, 7, 17, 192},
    {"mixed_4/tower_2/conv", 1, 1, 17, 192},
    {"mixed_5/conv", 1, 1, 17, 192},
    {"mixed_5/tower/conv", 1, 1, 17, 160},
    {"mixed_5/tower/conv_1", 1, 7, 17, 160},
    {"mixed_5/tower/conv_2", 7, 1, 17, 192},
    {"mixed_5/tower_1/conv", 1, 1, 17, 160},
    {"mixed_5/tower_1/conv_1", 7, 1, 17, 160},
    {"mixed_5/tower_1/conv_2", 1, 7, 17, 160},
    {"mixed_5/tower_1/conv_3", 7, 1, 17, 160},
    {"mixed_5/tower_1/conv_4", 1, 7, 17, 192},
    {"mixed_5/tower_2/conv", 1, 1, 17, 192},
    {"mixed_6/conv", 1, 1, 17, 192},
    {"mixed_6/tower/conv", 1, 1, 17, 160},
    {"mixed_6/tower/conv_1", 1, 7, 17, 160},
    {"mixed_6/tower/conv_2", 7, 1, 17, 192},
    {"mixed_6/tower_1/conv", 1, 1, 17, 160},
    {"mixed_6/tower_1/conv_1", 7, 1, 17, 160},
    {"mixed_6/tower_1/conv_2", 1, 7, 17, 160},
    {"mixed_6/tower_1/conv_3", 7, 1, 17, 160},
    {"mixed_6/tower_1/conv_4", 1, 7, 17, 192},
    {"mixed_6/tower_2/conv", 1, 1, 17, 192},
    {"mixed_7/conv", 1, 1, 17, 192},
    {"mixed_7/tower/conv", 1, 1, 17, 192},
    {"mixed_7/tower/conv_1", 1, 7, 17, 192},
    {"mixed_7/tower/conv_2", 7, 1, 17, 192},
    {"mixed_7/tower_1/conv", 1, 1, 17, 192},
    {"mixed_7/tower_1/conv_1", 7, 1, 17, 192},
    {"mixed_7/tower_1/conv_2", 1, 7, 17, 192},
    {"mixed_7/tower_1/conv_3", 7, 1, 17, 192},
    {"mixed_7/tower_1/conv_4", 1, 7, 17, 192},
    {"mixed_7/tower_2/conv", 1, 1, 17, 192},
    {"mixed_8/tower/conv", 1, 1, 17, 192},
    {"mixed_8/tower/conv_1", 3, 3, 8, 320},
    {"mixed_8/tower_1/conv", 1, 1, 17, 192},
    {"mixed_8/tower_1/conv_1", 1, 7, 17, 192},
    {"mixed_8/tower_1/conv_2", 7, 1, 17, 192},
    {"mixed_8/tower_1/conv_3", 3, 3, 8, 192},
    {"mixed_9/conv", 1, 1, 8, 320},
    {"mixed_9/tower/conv", 1, 1, 8, 384},
    {"mixed_9/tower/mixed/conv", 1, 3, 8, 384},
    {"mixed_9/tower/mixed/conv_1", 3, 1, 8, 384},
    {"mixed_9/tower_1/conv", 1, 1, 8, 448},
    {"mixed_9/tower_1/conv_1", 3, 3, 8, 384},
    {"mixed_9/tower_1/mixed/conv", 1, 3, 8, 384},
    {"mixed_9/tower_1/mixed/conv_1", 3, 1, 8, 384},
    {"mixed_9/tower_2/conv", 1, 1, 8, 192},
    {"mixed_10/conv", 1, 1, 8, 320},
    {"mixed_10/tower/conv", 1, 1, 8, 384},
    {"mixed_10/tower/mixed/conv", 1, 3, 8, 384},
    {"mixed_10/tower/mixed/conv_1", 3, 1, 8, 384},
    {"mixed_10/tower_1/conv", 1, 1, 8, 448},
    {"mixed_10/tower_1/conv_1", 3, 3, 8, 384},
    {"mixed_10/tower_1/mixed/conv", 1, 3, 8, 384},
    {"mixed_10/tower_1/mixed/conv_1", 3, 1, 8, 384},
    {"mixed_10/tower_2/conv", 1, 1, 8, 192},
};

TEST(Replica, InceptionJpegPipelineIsTheReleasedOne) {
  const GraphDef& g = inception().graph_def;
  const NodeDef& contents = node(g, "DecodeJpeg/contents");
  EXPECT_EQ(contents.op(), "Const");
  EXPECT_EQ(contents.attr().at("dtype").type(), tensorflow::DT_STRING);
  const NodeDef& decode = node(g, "DecodeJpeg");
  EXPECT_EQ(decode.input(0), "DecodeJpeg/contents");
  EXPECT_EQ(decode.attr().at("channels").i(), 3);
  EXPECT_EQ(node(g, "Cast").attr().at("DstT").type(), tensorflow::DT_FLOAT);
  EXPECT_EQ(const_ints(node(g, "ExpandDims/dim")), (std::vector<int64_t>{0}));
  EXPECT_EQ(const_ints(node(g, "ResizeBilinear/size")), (std::vector<int64_t>{299, 299}));
  EXPECT_FALSE(node(g, "ResizeBilinear").attr().at("align_corners").b());
  EXPECT_EQ(node(g, "Sub/y").attr().at("value").tensor().float_val(0), 128.0f);
  EXPECT_EQ(node(g, "Mul/y").attr().at("value").tensor().float_val(0), 1.0f / 128.0f);
  EXPECT_EQ(node(g, "Mul").input(0), "Sub");
  EXPECT_EQ(node(g, "conv/Conv2D").input(0), "Mul");
  // The 2015 file predates GraphDef version 9, where BatchNormWithGlobalNormalization stops
  // loading: no versions field, as producer 0.
  EXPECT_FALSE(g.has_versions());
}

TEST(Replica, InceptionConvScopeIsConvBatchnormCheckReluWithTheOldAttrs) {
  const GraphDef& g = inception().graph_def;
  const std::string s = "mixed_4/tower/conv_1";
  const NodeDef& conv = node(g, s + "/Conv2D");
  EXPECT_EQ(conv.op(), "Conv2D");
  EXPECT_EQ(conv.input(0), "mixed_4/tower/conv");
  EXPECT_EQ(conv.input(1), s + "/conv2d_params");
  EXPECT_EQ(conv.attr().at("padding").s(), "SAME");
  EXPECT_EQ(attr_ints(conv, "strides"), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(conv.attr().at("data_format").s(), "NHWC");
  EXPECT_TRUE(conv.attr().at("use_cudnn_on_gpu").b());
  EXPECT_EQ(walk(g).shapes.at(s + "/conv2d_params"), (Shape{1, 7, 128, 128}));

  const NodeDef& bn = node(g, s + "/batchnorm");
  EXPECT_EQ(bn.op(), "BatchNormWithGlobalNormalization");
  std::vector<std::string> inputs(bn.input().begin(), bn.input().end());
  EXPECT_EQ(inputs, (std::vector<std::string>{s + "/Conv2D", s + "/batchnorm/moving_mean",
                                              s + "/batchnorm/moving_variance",
                                              s + "/batchnorm/beta", s + "/batchnorm/gamma"}));
  EXPECT_FLOAT_EQ(bn.attr().at("variance_epsilon").f(), 0.001f);
  EXPECT_FALSE(bn.attr().at("scale_after_normalization").b());
  EXPECT_EQ(node(g, s + "/CheckNumerics").input(0), s + "/batchnorm");
  const NodeDef& dep = node(g, s + "/control_dependency");
  EXPECT_EQ(dep.op(), "Identity");
  ASSERT_EQ(dep.input_size(), 2);
  EXPECT_EQ(dep.input(1), "^" + s + "/CheckNumerics");
  const NodeDef& relu = node(g, s);
  EXPECT_EQ(relu.op(), "Relu");
  EXPECT_EQ(relu.input(0), s + "/control_dependency");
  for (const NodeDef& n : g.node()) {
    if (n.op() != "Const" && n.op() != "Concat") {
      EXPECT_TRUE(n.attr().contains("T") || n.op() == "Cast" || n.op() == "DecodeJpeg")
          << n.name() << " has no T";
    }
  }
}

TEST(Replica, InceptionJoinsPoolsAndClassifier) {
  const GraphDef& g = inception().graph_def;
  const NodeDef& join = node(g, "mixed/join");
  EXPECT_EQ(join.op(), "Concat");  // the old op: the axis comes first
  EXPECT_EQ(join.input(0), "mixed/join/concat_dim");
  EXPECT_EQ(const_ints(node(g, "mixed/join/concat_dim")), (std::vector<int64_t>{3}));
  EXPECT_EQ(join.attr().at("N").i(), 4);
  EXPECT_EQ(node(g, "mixed_3/join").attr().at("N").i(), 3);
  EXPECT_EQ(node(g, "mixed_8/join").input(3), "mixed_8/pool");
  const NodeDef& e = node(g, "mixed_10/join");
  std::vector<std::string> inputs(e.input().begin(), e.input().end());
  EXPECT_EQ(inputs, (std::vector<std::string>{
                        "mixed_10/join/concat_dim", "mixed_10/conv", "mixed_10/tower/mixed/conv",
                        "mixed_10/tower/mixed/conv_1", "mixed_10/tower_1/mixed/conv",
                        "mixed_10/tower_1/mixed/conv_1", "mixed_10/tower_2/conv"}));

  EXPECT_EQ(node(g, "pool").op(), "MaxPool");
  EXPECT_EQ(node(g, "pool_1").op(), "MaxPool");
  EXPECT_EQ(node(g, "mixed_3/pool").op(), "MaxPool");
  EXPECT_EQ(node(g, "mixed_8/pool").op(), "MaxPool");
  for (const char* name :
       {"mixed", "mixed_1", "mixed_2", "mixed_4", "mixed_5", "mixed_6", "mixed_7", "mixed_9"}) {
    const NodeDef& p = node(g, std::string(name) + "/tower_2/pool");
    EXPECT_EQ(p.op(), "AvgPool") << name;
    EXPECT_EQ(p.attr().at("padding").s(), "SAME") << name;
    EXPECT_EQ(attr_ints(p, "ksize"), (std::vector<int64_t>{1, 3, 3, 1})) << name;
  }
  EXPECT_EQ(node(g, "mixed_10/tower_2/pool").op(), "MaxPool");  // the release's quirk

  const NodeDef& pool3 = node(g, "pool_3");
  EXPECT_EQ(pool3.op(), "AvgPool");
  EXPECT_EQ(attr_ints(pool3, "ksize"), (std::vector<int64_t>{1, 8, 8, 1}));
  EXPECT_EQ(pool3.attr().at("padding").s(), "VALID");
  EXPECT_EQ(node(g, "pool_3/_reshape").op(), "Reshape");
  EXPECT_EQ(node(g, "softmax/logits/MatMul").input(1), "softmax/weights");
  EXPECT_EQ(node(g, "softmax/logits").op(), "BiasAdd");
  EXPECT_EQ(node(g, "softmax/logits").input(1), "softmax/biases");
  EXPECT_EQ(node(g, "softmax").op(), "Softmax");
}

TEST(Replica, InceptionEveryConvHasThePublishedShape) {
  const Replica& r = inception();
  Walk w = walk(r.graph_def);
  EXPECT_EQ(w.conv2d_count, 94);
  ASSERT_EQ(std::size(kInceptionConvs), 94u);
  for (const ConvRow& row : kInceptionConvs) {
    std::string scope = row.scope;
    const Shape& filter = w.shapes.at(scope + "/conv2d_params");
    EXPECT_EQ(filter[0], row.kh) << scope;
    EXPECT_EQ(filter[1], row.kw) << scope;
    EXPECT_EQ(w.shapes.at(scope), (Shape{1, row.size, row.size, row.channels})) << scope;
  }
  const std::pair<const char*, Shape> milestones[] = {
      {"Mul", {1, 299, 299, 3}},          {"pool", {1, 73, 73, 64}},
      {"pool_1", {1, 35, 35, 192}},       {"mixed/join", {1, 35, 35, 256}},
      {"mixed_2/join", {1, 35, 35, 288}}, {"mixed_3/join", {1, 17, 17, 768}},
      {"mixed_7/join", {1, 17, 17, 768}}, {"mixed_8/join", {1, 8, 8, 1280}},
      {"mixed_9/join", {1, 8, 8, 2048}},  {"mixed_10/join", {1, 8, 8, 2048}},
      {"pool_3", {1, 1, 1, 2048}},        {"pool_3/_reshape", {1, 2048}},
      {"softmax/logits", {1, 1008}},      {"softmax", {1, 1008}}};
  for (const auto& [name, shape] : milestones) EXPECT_EQ(w.shapes.at(name), shape) << name;
  // The builder's own layer table agrees with the walk.
  for (const LayerInfo& layer : r.layers) {
    if (layer.op != "MatMul") {
      EXPECT_EQ(w.shapes.at(layer.name), layer.output) << layer.name;
    }
  }
}

TEST(Replica, InceptionCostsAboutFiveSevenBillionMultiplyAdds) {
  const Replica& r = inception();
  Walk w = walk(r.graph_def);
  // 5.7 G multiply-adds is the figure commonly quoted for Inception v3 at 299x299.
  EXPECT_GT(w.macs, 5'600'000'000);
  EXPECT_LT(w.macs, 5'800'000'000);
  int64_t conv_flops = 0;
  for (const LayerInfo& layer : r.layers)
    if (layer.op == "Conv2D") conv_flops += layer.flops;
  EXPECT_EQ(conv_flops + 2 * 2048 * 1008, 2 * w.macs);
  int64_t params = 0;
  for (const NodeDef& n : r.graph_def.node())
    if (n.op() == "Const" && n.attr().at("dtype").type() == tensorflow::DT_FLOAT &&
        w.shapes.at(n.name()).size() > 0)
      params += num_elements(w.shapes.at(n.name()));
  // Keras' InceptionV3 has 23,851,784 parameters: its 2,049,000-value 1000-class classifier,
  // plus 3 batch-norm vectors (no gamma) per conv channel. This graph keeps gamma (17,216
  // conv channels) and has 1008 classes: 21,802,784 + 17,216 + 2048 * 1008 + 1008.
  EXPECT_EQ(params, 23'885'392);
}

TEST(Replica, SeededWeightsAreFixedValuesWithHeScale) {
  WeightSource source = seeded_weights(1);
  Shape shape = {3, 3, 32, 64};
  Tensor f = source({"conv_2/conv2d_params", WeightRole::kConvFilter, shape});
  auto v = f.data<float>();
  // Golden values: a different standard library or CPU must produce exactly these.
  EXPECT_EQ(v[0], 0x1.b1b312p-5f);
  EXPECT_EQ(v[1], -0x1.ecbe3ap-6f);
  EXPECT_EQ(v[1000], 0x1.15751ap-3f);
  double sum2 = 0;
  for (float x : v) sum2 += double{x} * x;
  EXPECT_NEAR(std::sqrt(sum2 / v.size()), std::sqrt(2.0 / (3 * 3 * 32)), 0.005);
  // Depends on the name and the seed, not on the order of requests.
  Tensor again = source({"conv_2/conv2d_params", WeightRole::kConvFilter, shape});
  EXPECT_EQ(std::memcmp(again.bytes().data(), f.bytes().data(), f.byte_size()), 0);
  Tensor other = seeded_weights(2)({"conv_2/conv2d_params", WeightRole::kConvFilter, shape});
  EXPECT_NE(other.data<float>()[0], v[0]);
  Tensor var = source({"x/moving_variance", WeightRole::kBnVariance, Shape{100}});
  for (float x : var.data<float>()) EXPECT_TRUE(x >= 0.9f && x <= 1.1f) << x;
}

TEST(Replica, WrongWeightShapeFailsNamingTheTensor) {
  WeightSource bad = [](const WeightRequest& r) {
    return Tensor(DType::kFloat32, r.role == WeightRole::kDenseWeights ? Shape{7} : r.shape);
  };
  expect_error([&] { inception_v3_2015(bad); },
               "'softmax/weights' has shape [7], expected [2048,1008]");
  WeightSource ints = [](const WeightRequest& r) { return Tensor(DType::kInt32, r.shape); };
  EXPECT_THROW(mobilenet_v1(0.25, 128, ints), Error);
  EXPECT_THROW(mobilenet_v1(1.5, 128, constant_weight), Error);
  EXPECT_THROW(mobilenet_v1(0.25, 0, constant_weight), Error);
}

// Above 256 the last map is over 8x8 and the 7x7 stride-2 pool leaves 2x2 or more, which the
// logits' squeeze refuses: such a replica was written, and failed when run.
TEST(Replica, MobileNetSidesRunUpTo256) {
  for (int side : {32, 256}) {
    Walk w = walk(mobilenet_v1(0.25, side, constant_weight).graph_def);
    EXPECT_EQ(w.shapes.at("MobilenetV1/Predictions/Reshape"), (Shape{1, 1001})) << side;
  }
  expect_error([] { mobilenet_v1(0.25, 257, constant_weight); },
               "mobilenet_v1: resolution 257 is not in 32..256");
  expect_error([] { mobilenet_v1(0.25, 31, constant_weight); },
               "mobilenet_v1: resolution 31 is not in 32..256");
}

TEST(Replica, SameSeedWritesByteIdenticalFiles) {
  TempDir dir;
  auto write = [&](const std::string& name, uint32_t seed) {
    tf::write_graphdef(mobilenet_v1(0.5, 160, seeded_weights(seed)).graph_def, dir / name);
    return read_file(dir / name);
  };
  std::string a = write("a.pb", 7), b = write("b.pb", 7), c = write("c.pb", 8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(a.size(), c.size());
  tf::write_graphdef(inception_v3_2015(seeded_weights(3)).graph_def, dir / "i1.pb");
  tf::write_graphdef(inception_v3_2015(seeded_weights(3)).graph_def, dir / "i2.pb");
  EXPECT_TRUE(read_file(dir / "i1.pb") == read_file(dir / "i2.pb"));
}

TEST(Replica, MobileNetMatchesTheReleasedFrozenGraphNodeByNode) {
  POET_REQUIRE_FIXTURE("mobilenet_v1_0.25_128/frozen_graph.pb");
  GraphDef real = tf::read_graphdef(fixture("mobilenet_v1_0.25_128/frozen_graph.pb"));
  GraphDef replica = mobilenet_v1(0.25, 128, seeded_weights(1)).graph_def;
  ASSERT_EQ(replica.node_size(), real.node_size());
  for (int i = 0; i < real.node_size(); ++i) {
    NodeDef want = real.node(i), got = replica.node(i);
    // Weights differ by design; everything else (names, ops, inputs, attributes, small
    // constants like epsilon and the reshape shapes) must be identical.
    for (NodeDef* n : {&want, &got}) {
      auto& attrs = *n->mutable_attr();
      if (n->op() == "Const" && attrs["dtype"].type() == tensorflow::DT_FLOAT &&
          attrs["value"].tensor().tensor_shape().dim_size() > 0)
        attrs["value"].mutable_tensor()->clear_tensor_content();
    }
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(want, got))
        << "node " << i << "\nreal:\n"
        << want.DebugString() << "replica:\n"
        << got.DebugString();
  }
  EXPECT_EQ(replica.has_versions(), real.has_versions());
  EXPECT_EQ(replica.has_library(), real.has_library());
  // Real weights have the shapes the replica's layer table expects.
  Walk w = walk(real);
  EXPECT_EQ(w.shapes.at("MobilenetV1/Predictions/Reshape"), (Shape{1, 1001}));
  EXPECT_EQ(w.shapes.at("MobilenetV1/MobilenetV1/Conv2d_13_pointwise/Relu6"),
            (Shape{1, 4, 4, 256}));
}

TEST(Replica, MobileNetOtherSizesScaleChannelsAndPool) {
  GraphDef big = mobilenet_v1(1.0, 224, constant_weight).graph_def;
  Walk w = walk(big);
  EXPECT_EQ(w.shapes.at("MobilenetV1/MobilenetV1/Conv2d_0/Relu6"), (Shape{1, 112, 112, 32}));
  EXPECT_EQ(w.shapes.at("MobilenetV1/MobilenetV1/Conv2d_13_pointwise/Relu6"),
            (Shape{1, 7, 7, 1024}));
  EXPECT_EQ(attr_ints(node(big, "MobilenetV1/Logits/AvgPool_1a/AvgPool"), "ksize"),
            (std::vector<int64_t>{1, 7, 7, 1}));
  EXPECT_EQ(w.shapes.at("MobilenetV1/Predictions/Reshape_1"), (Shape{1, 1001}));
  // 569 M multiply-adds, as the MobileNet paper's table for 1.0 MobileNet-224 says.
  EXPECT_NEAR(w.macs / 1e6, 569, 1);

  GraphDef mid = mobilenet_v1(0.75, 192, constant_weight).graph_def;
  Walk m = walk(mid);
  EXPECT_EQ(m.shapes.at("MobilenetV1/MobilenetV1/Conv2d_13_pointwise/Relu6"),
            (Shape{1, 6, 6, 768}));
  EXPECT_EQ(attr_ints(node(mid, "MobilenetV1/Logits/AvgPool_1a/AvgPool"), "ksize"),
            (std::vector<int64_t>{1, 6, 6, 1}));
}

// Needs the ops of the whole network (DecodeJpeg, ResizeBilinear, BatchNormWithGlobal-
// Normalization, Concat, pools, Softmax...), which land from other branches.
TEST(ReplicaSlow, InceptionRunsFromJpegToSoftmaxAndBottleneck) {
  POET_REQUIRE_FIXTURE("images/panda.jpg");
  Graph graph = tf::import_graphdef(inception_v3_2015(seeded_weights(1)).graph_def);
  Executable exe(graph, {"DecodeJpeg/contents:0"}, {"softmax:0", "pool_3/_reshape:0"});
  Tensor jpeg = Tensor::from_string(read_file(fixture("images/panda.jpg")));
  std::vector<Tensor> out = exe.run(std::span<const Tensor>(&jpeg, 1));
  ASSERT_EQ(out[0].shape(), (Shape{1, 1008}));
  ASSERT_EQ(out[1].shape(), (Shape{1, 2048}));
  for (const Tensor& t : out) {
    auto v = t.data<float>();
    for (float x : v) ASSERT_TRUE(std::isfinite(x));
    EXPECT_NE(*std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()));
  }
  auto p = out[0].data<float>();
  EXPECT_NEAR(std::accumulate(p.begin(), p.end(), 0.0), 1.0, 1e-4);
}

// Every block's towers side by side (engine/branches.h) against every layer split over two
// threads: the same bits, since a layer's sums do not depend on which thread makes them.
TEST(ReplicaSlow, InceptionBlocksSideBySideGiveTheSameBottleneck) {
  Graph graph = tf::import_graphdef(inception_v3_2015(seeded_weights(1)).graph_def);
  auto load = [&](ParallelBranches branches) {
    ExecOptions o;
    o.threads = 2;
    o.layer_split = LayerSplit::kOn;
    o.parallel_branches = branches;
    return Executable(graph, {"Mul:0"}, {"pool_3/_reshape:0"}, o);
  };
  Executable on = load(ParallelBranches::kOn), off = load(ParallelBranches::kOff);
  const Tensor image = Tensor::from_floats({1, 299, 299, 3}, random_floats(299 * 299 * 3, 2));
  const std::span<const Tensor> feeds(&image, 1);
  // One per block; in mixed_9 and mixed_10 the towers after tower_1/conv_1, which feeds two.
  EXPECT_EQ(on.branch_use(feeds).regions, 11);
  const Tensor want = off.run(feeds)[0];
  for (int run = 0; run < 3; ++run) {
    const Tensor got = on.run(feeds)[0];
    ASSERT_EQ(got.shape(), want.shape());
    const std::span<const float> a = got.data<float>(), b = want.data<float>();
    for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "run " << run << ", " << i;
  }
}

TEST(ReplicaSlow, MobileNetReplicaRunsToPredictions) {
  Graph graph = tf::import_graphdef(mobilenet_v1(0.25, 128, seeded_weights(1)).graph_def);
  Executable exe(graph, {"input:0"}, {"MobilenetV1/Predictions/Reshape_1:0"});
  Tensor input(DType::kFloat32, {1, 128, 128, 3});
  auto x = input.data<float>();
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 255) / 127.5f - 1.0f;
  std::vector<Tensor> out = exe.run(std::span<const Tensor>(&input, 1));
  ASSERT_EQ(out[0].shape(), (Shape{1, 1001}));
  auto p = out[0].data<float>();
  EXPECT_NEAR(std::accumulate(p.begin(), p.end(), 0.0), 1.0, 1e-4);
  EXPECT_NE(*std::min_element(p.begin(), p.end()), *std::max_element(p.begin(), p.end()));
}

}  // namespace
}  // namespace poet::testing
