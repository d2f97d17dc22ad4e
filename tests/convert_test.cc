// poet convert: TF.js layers model -> GraphDef. Fast tests use a tiny Keras-style model (conv
// without bias, batch norm without gamma, ReLU, Flatten, Dense softmax); the slow ones convert
// the trained Inception v3 in the fixtures both ways and compare with TensorFlow.js's outputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "engine/executor.h"
#include "engine/file_io.h"
#include "engine/npy.h"
#include "engine/optimize/batch_norm.h"
#include "importers/tensorflow/graphdef.h"
#include "importers/tfjs/inception_v3_layout.h"
#include "importers/tfjs/tfjs.h"
#include "tests/cli_util.h"
#include "tests/fixtures.h"

namespace poet {
namespace {

using testing::fixture;
using testing::run_poet;
using testing::TempDir;

// input [?,3,3,2] -> conv (2x2 valid, 3 filters, no bias) -> bn (scale false, eps 0.001)
// -> relu -> flatten (12) -> dense (2, softmax).
constexpr char kTinyModel[] = R"({
  "format": "layers-model",
  "modelTopology": {"model_config": {"class_name": "Model", "config": {
    "name": "tiny",
    "layers": [
      {"name": "input_1", "class_name": "InputLayer", "config": {"batch_input_shape": [null, 3, 3, 2], "dtype": "float32"}, "inbound_nodes": []},
      {"name": "conv2d_1", "class_name": "Conv2D", "config": {"filters": 3, "kernel_size": [2, 2], "strides": [1, 1], "padding": "valid", "activation": "linear", "use_bias": false}, "inbound_nodes": [[["input_1", 0, 0, {}]]]},
      {"name": "batch_normalization_1", "class_name": "BatchNormalization", "config": {"axis": 3, "epsilon": 0.001, "center": true, "scale": false}, "inbound_nodes": [[["conv2d_1", 0, 0, {}]]]},
      {"name": "activation_1", "class_name": "Activation", "config": {"activation": "relu"}, "inbound_nodes": [[["batch_normalization_1", 0, 0, {}]]]},
      {"name": "flatten_1", "class_name": "Flatten", "config": {}, "inbound_nodes": [[["activation_1", 0, 0, {}]]]},
      {"name": "dense_1", "class_name": "Dense", "config": {"units": 2, "activation": "softmax"}, "inbound_nodes": [[["flatten_1", 0, 0, {}]]]}
    ],
    "input_layers": [["input_1", 0, 0]], "output_layers": [["dense_1", 0, 0]]}}},
  "weightsManifest": [{"paths": ["w.bin"], "weights": [
    {"name": "conv2d_1/kernel", "shape": [2, 2, 2, 3], "dtype": "float32"},
    {"name": "batch_normalization_1/beta", "shape": [3], "dtype": "float32"},
    {"name": "batch_normalization_1/moving_mean", "shape": [3], "dtype": "float32"},
    {"name": "batch_normalization_1/moving_variance", "shape": [3], "dtype": "float32"},
    {"name": "dense_1/kernel", "shape": [12, 2], "dtype": "float32"},
    {"name": "dense_1/bias", "shape": [2], "dtype": "float32"}
  ]}]
})";

std::filesystem::path write_tiny_model(const TempDir& dir) {
  std::vector<float> w;
  for (int i = 0; i < 24; ++i) w.push_back(0.1f * static_cast<float>(i % 5 - 2));   // kernel
  for (float v : {0.5f, -0.25f, 0.f}) w.push_back(v);                               // beta
  for (float v : {0.1f, -0.2f, 0.3f}) w.push_back(v);                               // mean
  for (float v : {4.f, 0.25f, 1.f}) w.push_back(v);                                 // variance
  for (int i = 0; i < 24; ++i) w.push_back(0.05f * static_cast<float>(i % 7 - 3));  // dense
  for (float v : {0.1f, -0.1f}) w.push_back(v);
  write_file_atomic(dir / "model.json", kTinyModel);
  write_file_atomic(dir / "w.bin", std::string_view(reinterpret_cast<const char*>(w.data()),
                                                    w.size() * sizeof(float)));
  return dir / "model.json";
}

Tensor ramp(Shape shape, float step) {
  Tensor t(DType::kFloat32, std::move(shape));
  auto d = t.data<float>();
  for (size_t i = 0; i < d.size(); ++i) d[i] = step * static_cast<float>(i % 11) - 0.3f;
  return t;
}

float max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  if (a.shape() != b.shape()) return INFINITY;
  float m = 0;
  for (int64_t i = 0; i < a.num_elements(); ++i)
    m = std::max(m, std::abs(a.data<float>()[i] - b.data<float>()[i]));
  return m;
}

std::vector<Tensor> run_graph(const Graph& g, const std::string& feed, const Tensor& input,
                              std::vector<std::string> fetches) {
  Executable exe(g, {feed}, std::move(fetches));
  return exe.run(std::vector<Tensor>{input});
}

// The attributes TensorFlow's op registry requires (those without a default) for every op the
// converter writes. An op missing here is not one the converter should write.
const std::map<std::string, std::vector<std::string>>& required_attrs() {
  static const std::map<std::string, std::vector<std::string>> table = {
      {"AddV2", {"T"}},
      {"AvgPool", {"T", "ksize", "strides", "padding"}},
      {"BatchNormWithGlobalNormalization", {"T", "variance_epsilon", "scale_after_normalization"}},
      {"BiasAdd", {"T"}},
      {"Cast", {"SrcT", "DstT"}},
      {"CheckNumerics", {"T", "message"}},
      {"Concat", {"N", "T"}},
      {"ConcatV2", {"N", "T"}},
      {"Const", {"value", "dtype"}},
      {"Conv2D", {"T", "strides", "padding"}},
      {"DecodeJpeg", {}},
      {"DepthwiseConv2dNative", {"T", "strides", "padding"}},
      {"ExpandDims", {"T"}},
      {"FusedBatchNormV3", {"T", "U"}},
      {"Identity", {"T"}},
      {"MatMul", {"T"}},
      {"MaxPool", {"ksize", "strides", "padding"}},
      {"Mean", {"T"}},
      {"Mul", {"T"}},
      {"Pad", {"T"}},
      {"Placeholder", {"dtype"}},
      {"Relu", {"T"}},
      {"Relu6", {"T"}},
      {"Reshape", {"T"}},
      {"ResizeBilinear", {"T"}},
      {"Softmax", {"T"}},
      {"Sub", {"T"}},
  };
  return table;
}

// Every node is a real TensorFlow op with the attributes TensorFlow needs, and each input
// names an existing node. Returns the ops seen.
std::set<std::string> check_loadable(const tensorflow::GraphDef& graph_def) {
  std::set<std::string> names, ops;
  for (const auto& node : graph_def.node()) names.insert(node.name());
  for (const auto& node : graph_def.node()) {
    ops.insert(node.op());
    auto it = required_attrs().find(node.op());
    if (it == required_attrs().end()) {
      ADD_FAILURE() << node.name() << ": op " << node.op() << " is not in the table";
      continue;
    }
    for (const std::string& key : it->second)
      EXPECT_TRUE(node.attr().count(key)) << node.name() << " (" << node.op() << ") lacks " << key;
    if (node.op() == "FusedBatchNormV3") {  // TensorFlow defaults is_training to true
      EXPECT_TRUE(node.attr().count("is_training") && !node.attr().at("is_training").b())
          << node.name() << ": is_training must be false";
    }
    for (std::string in : node.input()) {
      if (in[0] == '^') in = in.substr(1);
      in = in.substr(0, in.find(':'));
      EXPECT_TRUE(names.count(in)) << node.name() << " reads missing node " << in;
    }
  }
  return ops;
}

// protoc decodes the file as a tensorflow.GraphDef with the repository's copy of the protos.
// protoc reads a binary file with --decode and a text one with --encode.
void expect_protoc_parses(const std::filesystem::path& pb) {
  const auto proto_dir = std::filesystem::path(POET_SOURCE_DIR) / "importers/tensorflow/proto";
  std::string cmd = "protoc --proto_path='" + proto_dir.string() + "' --" +
                    (tf::is_text_name(pb) ? "encode" : "decode") +
                    "=tensorflow.GraphDef graph.proto < '" + pb.string() + "' > /dev/null 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

TEST(Convert, FoldBatchNormsComputesFoldedWeights) {
  TempDir dir;
  Graph g = tfjs::load_model(write_tiny_model(dir));
  int folded = 0;
  Graph f = optimize::fold_batch_norms(g, &folded);
  EXPECT_EQ(folded, 1);
  const Node& bn = f.node(f.find("batch_normalization_1"));
  EXPECT_EQ(bn.op, "BiasAdd");
  EXPECT_EQ(f.node(bn.inputs[0].node).name, "conv2d_1");
  for (const char* gone : {"batch_normalization_1/moving_mean", "batch_normalization_1/beta",
                           "batch_normalization_1/gamma"})
    EXPECT_LT(f.find(gone), 0) << gone;
  // Channel 1: k = 1 / sqrt(0.25 + 0.001); bias = (0 - mean) * k + beta.
  const float k1 = 1.f / std::sqrt(0.251f);
  auto bias = f.node(bn.inputs[1].node).attr_tensor("value").data<float>();
  EXPECT_FLOAT_EQ(bias[1], 0.2f * k1 - 0.25f);
  EXPECT_FLOAT_EQ(bias[0], -0.1f / std::sqrt(4.001f) + 0.5f);
  auto kernel = f.node(f.find("conv2d_1/kernel")).attr_tensor("value").data<float>();
  auto original = g.node(g.find("conv2d_1/kernel")).attr_tensor("value").data<float>();
  for (int i : {1, 4, 22}) EXPECT_FLOAT_EQ(kernel[i], original[i] * k1) << i;  // i % 3 == 1
}

// The folded bias takes "<norm>/folded_bias", or the first free "..._1": a model may hold that
// name already ("two nodes are named").
TEST(Convert, FoldBatchNormsNamesItsBiasWhereTheNameIsFree) {
  TempDir dir;
  Graph g = tfjs::load_model(write_tiny_model(dir));
  Node taken;
  taken.name = "batch_normalization_1/folded_bias";
  taken.op = "Const";
  taken.attrs = {{"dtype", DType::kFloat32},
                 {"value", Tensor::from_floats({1}, std::vector<float>{7.f})}};
  g.add(std::move(taken));
  int folded = 0;
  Graph f = optimize::fold_batch_norms(g, &folded);
  EXPECT_EQ(folded, 1);
  const Node& bn = f.node(f.find("batch_normalization_1"));
  EXPECT_EQ(f.node(bn.inputs[1].node).name, "batch_normalization_1/folded_bias_1");
}

TEST(Convert, FoldBatchNormsLeavesSharedTensorsAlone) {
  TempDir dir;
  Graph g = tfjs::load_model(write_tiny_model(dir));
  Node extra;  // a second reader of the convolution's output
  extra.name = "extra";
  extra.op = "Identity";
  extra.inputs = {g.endpoint("conv2d_1")};
  extra.attrs["T"] = DType::kFloat32;
  g.add(std::move(extra));
  int folded = -1;
  Graph f = optimize::fold_batch_norms(g, &folded);
  EXPECT_EQ(folded, 0);
  EXPECT_EQ(f.node(f.find("batch_normalization_1")).op, "FusedBatchNormV3");
}

// A convolution that is one of the model's outputs keeps its values: folding rewrote its
// weights, and fetching it from the converted graph gave neither the convolution nor the norm.
TEST(Convert, FoldBatchNormsLeavesAnOutputsConvolutionAlone) {
  TempDir dir;
  const Graph g = tfjs::load_model(write_tiny_model(dir));
  int folded = -1;
  const std::string outputs[] = {"conv2d_1:0"};
  Graph f = optimize::fold_batch_norms(g, &folded, outputs);
  EXPECT_EQ(folded, 0);
  const Tensor x = ramp({2, 3, 3, 2}, 0.17f);
  EXPECT_EQ(max_abs_diff(run_graph(f, "input_1:0", x, {"conv2d_1:0"})[0],
                         run_graph(g, "input_1:0", x, {"conv2d_1:0"})[0]),
            0);
}

TEST(Convert, FoldedAgreesWithUnfolded) {
  TempDir dir;
  Graph g = tfjs::load_model(write_tiny_model(dir));
  Graph f = optimize::fold_batch_norms(g);
  Tensor x = ramp({2, 3, 3, 2}, 0.17f);
  auto a = run_graph(g, "input_1:0", x, {"activation_1:0", "dense_1:0"});
  auto b = run_graph(f, "input_1:0", x, {"activation_1:0", "dense_1:0"});
  EXPECT_LE(max_abs_diff(a[0], b[0]), 1e-5);
  EXPECT_LE(max_abs_diff(a[1], b[1]), 1e-6);
}

TEST(ConvertCli, WritesLoadableGraphDefBothWays) {
  TempDir dir;
  auto model = write_tiny_model(dir);
  Tensor x = ramp({1, 3, 3, 2}, 0.09f);
  Graph original = tfjs::load_model(model);
  Tensor want = run_graph(original, "input_1:0", x, {"dense_1:0"})[0];
  // A .pbtxt name gets the text format, which poet reads back by the same rule.
  for (const auto& [name, fold] :
       {std::pair{"plain.pb", false}, {"folded.pb", true}, {"plain.pbtxt", false}}) {
    auto out = dir / name;
    std::vector<std::string> args = {"convert", model.string(), "-o", out.string()};
    if (fold) args.push_back("--fold_batch_norm");
    auto r = run_poet(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("dense_1:0"), std::string::npos) << r.out;
    expect_protoc_parses(out);
    tensorflow::GraphDef graph_def = tf::read_graphdef(out);
    std::set<std::string> ops = check_loadable(graph_def);
    EXPECT_EQ(ops.count("FusedBatchNormV3"), fold ? 0u : 1u);
    Tensor got =
        run_graph(tf::import_graphdef(std::move(graph_def)), "input_1:0", x, {"dense_1:0"})[0];
    EXPECT_LE(max_abs_diff(got, want), 1e-6) << name;
  }
}

TEST(ConvertCli, BadInputIsAClearError) {
  TempDir dir;
  auto model = write_tiny_model(dir);
  const std::string shard = read_file(dir / "w.bin");
  auto out = (dir / "out.pb").string();
  struct Case {
    std::vector<std::string> args;
    std::string message;
  } cases[] = {
      {{"convert", (dir / "missing/model.json").string(), "-o", out}, "missing/model.json"},
      {{"convert", model.string(), "-o", out, "--layout", "keras"}, "unknown layout 'keras'"},
      {{"convert", model.string()}, "--output is required"},
      {{"convert", model.string(), "-o", out, "--layout=inception_v3_2015", "--fold_batch_norm"},
       "--fold_batch_norm applies to --layout tfjs only"},
      {{"convert", model.string(), "-o", out, "--input_mean=1"}, "--input_mean applies"},
      // Checked as classify, label and retrain check them: the 2015 layout's Sub/y and Mul/y
      // (1/std) were written infinite.
      {{"convert", model.string(), "-o", out, "--layout=inception_v3_2015", "--input_std", "1e-45"},
       "--input_std: 1e-45 is too small: 1/std is beyond a float"},
      {{"convert", model.string(), "-o", out, "--layout=inception_v3_2015", "--input_mean", "1e39"},
       "--input_mean: 1e39 is beyond the range of a float"},
      {{"convert", model.string(), "-o", out, "--layout=inception_v3_2015", "--input_std", "0"},
       "--input_std: must not be 0"},
      {{"convert", model.string(), "-o", out, "--layout=inception_v3_2015", "--input_std",
        "1e-300"},
       "--input_std: 1e-300 is 0 as a float: must not be 0"},
      // --nofold_batch_norm says what the 2015 layout does anyway: the layout's own error.
      {{"convert", model.string(), "-o", out, "--layout=inception_v3_2015", "--nofold_batch_norm"},
       "2015 scope 'conv': no Keras Conv2D reading 'input_1'"},
      {{"convert", model.string(), "-o", out, "--layout=inception_v3_2015", "--input_std", "-1"},
       "--input_std: must be positive, got -1"},
      {{"convert", model.string(), "-o", out, "--layout=inception_v3_2015", "--input_mean", "0x10"},
       "--input_mean: expected a decimal number, got '0x10'"},
      {{"convert", model.string(), "-o", dir.path().string()},
       "--output " + dir.path().string() + ": is a directory, not a file"},
      // The model's own files: written over, the model was lost.
      {{"convert", model.string(), "-o", model.string()},
       "--output " + model.string() + ": is " + model.string() + ", a file of the model"},
      {{"convert", model.string(), "-o", (dir / "." / "w.bin").string()},
       ": is " + (dir / "w.bin").string() + ", a file of the model it converts"},
      // Not an InceptionV3: the first 2015 scope (3x3/2, 32 filters) finds no Keras conv (the
      // decimal numbers read).
      {{"convert", model.string(), "-o", out, "--layout=inception_v3_2015"},
       "2015 scope 'conv': no Keras Conv2D reading 'input_1'"},
      {{"convert", model.string(), "-o", out, "--layout=inception_v3_2015", "--input_mean", "3",
        "--input_std", "0.5"},
       "2015 scope 'conv': no Keras Conv2D reading 'input_1'"},
  };
  for (const Case& c : cases) {
    auto r = run_poet(c.args);
    EXPECT_EQ(r.exit_code, 1) << c.message;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_EQ(read_file(model), kTinyModel);
  EXPECT_EQ(read_file(dir / "w.bin"), shard);
}

// poet run's --out over a file of the TF.js model it runs (a weight shard): refused before the
// run, as convert refuses it.
TEST(ConvertCli, RunsOutOverAShardOfTheModelIsRefused) {
  TempDir dir;
  auto model = write_tiny_model(dir);
  const std::string shard = read_file(dir / "w.bin");
  write_npy(dir / "x.npy", ramp({1, 3, 3, 2}, 0.1f));
  auto r =
      run_poet({"run", "--graph", model.string(), "--feed", "input_1=" + (dir / "x.npy").string(),
                "--fetch", "dense_1", "--out", (dir / "w.bin").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--out " + (dir / "w.bin").string() + ": is " + (dir / "w.bin").string() +
                       ", which the run reads (--graph)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(read_file(dir / "w.bin"), shard);
}

// --- The trained Inception v3 ---------------------------------------------------------------

constexpr const char* kImages[] = {"panda", "flower1", "orange_105_100"};

struct Reference {
  Tensor input, bottleneck, probs;
};

Reference reference(const std::string& image) {
  std::string base = "reference/inception_v3_tfjs/" + image;
  return {read_npy(fixture(base + ".input.npy")), read_npy(fixture(base + ".bottleneck.npy")),
          read_npy(fixture(base + ".probs.npy"))};
}

// Writes and re-reads the graph, as a user of the .pb file would see it.
Graph round_trip(const Graph& g, const std::filesystem::path& path, std::set<std::string>* ops) {
  tf::write_graphdef(tf::export_graphdef(g), path);
  expect_protoc_parses(path);
  tensorflow::GraphDef graph_def = tf::read_graphdef(path);
  *ops = check_loadable(graph_def);
  return tf::import_graphdef(std::move(graph_def));
}

TEST(ConvertSlow, TfjsLayoutMatchesTensorFlowJsFoldedOrNot) {
  POET_REQUIRE_FIXTURE("inception_v3_tfjs/model.json");
  TempDir dir;
  Graph model = tfjs::load_model(fixture("inception_v3_tfjs/model.json"));
  std::set<std::string> ops, folded_ops;
  Graph plain = round_trip(model, dir / "plain.pb", &ops);
  int folded = 0;
  Graph fold = round_trip(optimize::fold_batch_norms(model, &folded), dir / "fold.pb", &folded_ops);
  EXPECT_EQ(folded, 94);
  EXPECT_TRUE(ops.count("FusedBatchNormV3"));
  EXPECT_FALSE(folded_ops.count("FusedBatchNormV3"));
  for (const char* image : kImages) {
    Reference ref = reference(image);
    auto a = run_graph(plain, "input_1:0", ref.input, {"flatten_1:0", "dense_3:0"});
    auto b = run_graph(fold, "input_1:0", ref.input, {"flatten_1:0", "dense_3:0"});
    EXPECT_LE(max_abs_diff(a[0], ref.bottleneck), 1e-4) << image;
    EXPECT_LE(max_abs_diff(a[1], ref.probs), 1e-5) << image;
    EXPECT_LE(max_abs_diff(b[0], a[0]), 1e-4) << image << " folded vs unfolded";
    EXPECT_LE(max_abs_diff(b[1], a[1]), 1e-4) << image << " folded vs unfolded";
  }
}

TEST(ConvertSlow, Inception2015LayoutMatchesTensorFlowJs) {
  POET_REQUIRE_FIXTURE("inception_v3_tfjs/model.json");
  TempDir dir;
  auto out = dir / "inception.pb";
  auto r = run_poet({"convert", fixture("inception_v3_tfjs/model.json").string(), "-o",
                     out.string(), "--layout=inception_v3_2015", "--print_mapping"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // First and last scopes of the mapping, and the head.
  for (const char* line :
       {"conv                             conv2d_1 + batch_normalization_1",
        "mixed_10/tower_2/conv            conv2d_94 + batch_normalization_94",
        "dense_1                          dense_1", "softmax                          dense_3"})
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
  tensorflow::GraphDef graph_def = tf::read_graphdef(out);
  std::set<std::string> ops = check_loadable(graph_def);
  EXPECT_TRUE(ops.count("BatchNormWithGlobalNormalization"));
  Graph g = tf::import_graphdef(std::move(graph_def));
  EXPECT_EQ(g.node(g.find("mixed_10/tower_2/pool")).op, "AvgPool");
  EXPECT_EQ(g.node(g.find("Sub/y")).attr_tensor("value").data<float>()[0], 0.f);
  EXPECT_FLOAT_EQ(g.node(g.find("Mul/y")).attr_tensor("value").data<float>()[0], 1.f / 255.f);
  for (const char* image : kImages) {
    Reference ref = reference(image);
    auto got = run_graph(g, "Mul:0", ref.input, {"pool_3/_reshape:0", "softmax:0"});
    EXPECT_LE(max_abs_diff(got[0], ref.bottleneck), 1e-4) << image;
    EXPECT_LE(max_abs_diff(got[1], ref.probs), 1e-5) << image;
  }
}

}  // namespace
}  // namespace poet
