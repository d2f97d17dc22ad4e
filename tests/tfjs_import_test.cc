// The TF.js layers-model importer: weights (float32, uint8/uint16-quantized, float16), layer
// conversion and naming, and the errors for broken models. The trained Inception v3 in the
// fixtures is checked against TensorFlow.js's own outputs.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/executor.h"
#include "engine/file_io.h"
#include "engine/npy.h"
#include "importers/tfjs/tfjs.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"

namespace poet {
namespace {

using testing::error_of;
using testing::expect_error;
using testing::TempDir;

// A small model: input [?,4,4,2] -> Conv2D (3x3 same, 2 filters, bias, relu) -> Flatten
// -> Dense(3, softmax). The kernel is quantized to uint8, the bias float16.
std::string tiny_model_json(const std::string& extra_layer = "") {
  return R"({
  "format": "layers-model",
  "modelTopology": {"model_config": {"class_name": "Model", "config": {
    "name": "tiny",
    "layers": [
      {"name": "in", "class_name": "InputLayer", "config": {"batch_input_shape": [null, 4, 4, 2], "dtype": "float32"}, "inbound_nodes": []},
      {"name": "conv", "class_name": "Conv2D", "config": {"filters": 2, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same", "activation": "relu", "use_bias": true}, "inbound_nodes": [[["in", 0, 0, {}]]]},
      {"name": "flat", "class_name": "Flatten", "config": {}, "inbound_nodes": [[["conv", 0, 0, {}]]]},
      {"name": "drop", "class_name": "Dropout", "config": {"rate": 0.5}, "inbound_nodes": [[["flat", 0, 0, {}]]]},
      {"name": "out", "class_name": "Dense", "config": {"units": 3, "activation": "softmax"}, "inbound_nodes": [[["drop", 0, 0, {}]]]})" +
         extra_layer + R"(
    ],
    "input_layers": [["in", 0, 0]], "output_layers": [["out", 0, 0]]}}},
  "weightsManifest": [{"paths": ["w.bin"], "weights": [
    {"name": "conv/kernel", "shape": [3, 3, 2, 2], "dtype": "float32", "quantization": {"dtype": "uint8", "min": -1.0, "scale": 0.01}},
    {"name": "conv/bias", "shape": [2], "dtype": "float32", "quantization": {"dtype": "float16"}},
    {"name": "out/kernel", "shape": [32, 3], "dtype": "float32"},
    {"name": "out/bias", "shape": [3], "dtype": "float32", "quantization": {"dtype": "uint16", "min": 0.5, "scale": 0.25}}
  ]}]
})";
}

// 36 uint8 kernel values, 2 float16 biases, 96 float32 kernel values, 3 uint16 biases.
std::string tiny_weights() {
  std::string bytes;
  for (int i = 0; i < 36; ++i) bytes += static_cast<char>(i * 7);
  const uint16_t halves[] = {0x3c00 /* 1.0 */, 0xc000 /* -2.0 */};
  bytes.append(reinterpret_cast<const char*>(halves), sizeof(halves));
  for (int i = 0; i < 96; ++i) {
    float f = 0.01f * static_cast<float>(i % 7 - 3);
    bytes.append(reinterpret_cast<const char*>(&f), 4);
  }
  const uint16_t q[] = {0, 2, 4};
  bytes.append(reinterpret_cast<const char*>(q), sizeof(q));
  return bytes;
}

std::filesystem::path write_model(const TempDir& dir, const std::string& json,
                                  const std::string& weights) {
  write_file_atomic(dir / "model.json", json);
  write_file_atomic(dir / "w.bin", weights);
  return dir / "model.json";
}

TEST(TfjsWeights, DequantizesEachStorageKind) {
  TempDir dir;
  auto weights = tfjs::load_weights(write_model(dir, tiny_model_json(), tiny_weights()));
  ASSERT_EQ(weights.size(), 4u);
  // uint8: min + scale * q, in double, then rounded to float.
  EXPECT_EQ(weights["conv/kernel"].data<float>()[5], static_cast<float>(-1.0 + 0.01 * 35));
  EXPECT_EQ(weights["conv/bias"].data<float>()[0], 1.f);
  EXPECT_EQ(weights["conv/bias"].data<float>()[1], -2.f);
  EXPECT_EQ(weights["out/kernel"].data<float>()[0], -0.03f);
  EXPECT_EQ(weights["out/bias"].data<float>()[2], 1.5f);
}

// Shards are read one at a time; a weight's bytes may run on into the next file (here the
// uint8 kernel is cut after 20 bytes, an empty shard follows, the float kernel is cut too).
TEST(TfjsWeights, WeightsSpanningShardsMatchOneShard) {
  TempDir one, split;
  auto whole = tfjs::load_weights(write_model(one, tiny_model_json(), tiny_weights()));
  std::string json = tiny_model_json();
  const std::string paths = R"("paths": ["w.bin"])";
  json.replace(json.find(paths), paths.size(), R"("paths": ["a.bin", "b.bin", "c.bin", "w.bin"])");
  const std::string bytes = tiny_weights();
  write_file_atomic(split / "a.bin", bytes.substr(0, 20));
  write_file_atomic(split / "b.bin", "");
  write_file_atomic(split / "c.bin", bytes.substr(20, 80));
  auto parts = tfjs::load_weights(write_model(split, json, bytes.substr(100)));
  ASSERT_EQ(parts.size(), whole.size());
  for (const auto& [name, t] : whole) {
    ASSERT_EQ(parts[name].shape(), t.shape()) << name;
    for (int64_t i = 0; i < t.num_elements(); ++i)
      EXPECT_EQ(parts[name].data<float>()[i], t.data<float>()[i]) << name << " " << i;
  }
}

// A shape larger than the shards is refused before its tensor is allocated (a 4 TB shape
// would otherwise fail on the tensor limit, or be allocated, without naming the weight).
TEST(TfjsWeights, ShapeLargerThanTheShardsIsAnErrorNamingTheWeight) {
  TempDir dir;
  std::string json = tiny_model_json();
  const std::string shape = R"("shape": [32, 3])";
  json.replace(json.find(shape), shape.size(), R"("shape": [1000000, 1000000])");
  expect_error([&] { tfjs::load_weights(write_model(dir, json, tiny_weights())); },
               "'out/kernel' needs 1000000000000 x 4 bytes at offset 40");
}

TEST(TfjsImport, LayersBecomeNamedNodes) {
  TempDir dir;
  Graph g = tfjs::load_model(write_model(dir, tiny_model_json(), tiny_weights()));
  for (const char* name : {"in", "conv", "flat", "drop", "out", "conv/Conv2D", "conv/kernel"})
    EXPECT_GE(g.find(name), 0) << name;
  EXPECT_EQ(g.node(g.find("conv")).op, "Relu");
  EXPECT_EQ(g.node(g.find("flat")).op, "Reshape");
  EXPECT_EQ(g.node(g.find("out")).op, "Softmax");
  auto sig = tfjs::read_signature(dir / "model.json");
  EXPECT_EQ(sig.inputs, std::vector<std::string>{"in"});
  EXPECT_EQ(sig.outputs, std::vector<std::string>{"out"});

  Executable exe(g, {"in:0"}, {"flat:0", "out:0"});
  std::vector<Tensor> out = exe.run(std::vector<Tensor>{Tensor(DType::kFloat32, {2, 4, 4, 2})});
  EXPECT_EQ(out[0].shape(), (Shape{2, 32}));
  // Zero input: conv output is relu(bias) = [1, 0] per pixel, so flat alternates 1, 0.
  EXPECT_EQ(out[0].data<float>()[0], 1.f);
  EXPECT_EQ(out[0].data<float>()[1], 0.f);
  float sum = 0;
  for (int i = 0; i < 3; ++i) sum += out[1].data<float>()[i];
  EXPECT_NEAR(sum, 1.f, 1e-6);
}

// BatchNormalization with scale: false takes its channel count from the inferred shape of its
// input (the convolution's 2 channels) to make gamma = 1; mean 0 and variance 1 - epsilon make
// it the identity.
TEST(TfjsImport, BatchNormWithoutScaleGetsItsChannelsFromTheInput) {
  std::string json = tiny_model_json();
  const std::string flat =
      R"({"name": "flat", "class_name": "Flatten", "config": {}, "inbound_nodes": [[["conv", 0, 0, {}]]]})";
  json.replace(json.find(flat), flat.size(), R"(
      {"name": "bn", "class_name": "BatchNormalization", "config": {"axis": 3, "epsilon": 0.001, "scale": false}, "inbound_nodes": [[["conv", 0, 0, {}]]]},
      {"name": "flat", "class_name": "Flatten", "config": {}, "inbound_nodes": [[["bn", 0, 0, {}]]]})");
  const std::string last = R"("scale": 0.25}})";
  json.insert(json.find(last) + last.size(), R"(,
    {"name": "bn/beta", "shape": [2], "dtype": "float32"},
    {"name": "bn/moving_mean", "shape": [2], "dtype": "float32"},
    {"name": "bn/moving_variance", "shape": [2], "dtype": "float32"})");
  std::string bytes = tiny_weights();
  for (float f : {0.f, 0.f, 0.f, 0.f, 0.999f, 0.999f})
    bytes.append(reinterpret_cast<const char*>(&f), 4);
  TempDir dir;
  Graph g = tfjs::load_model(write_model(dir, json, bytes));
  const Tensor& gamma = g.node(g.find("bn/gamma")).attr_tensor("value");
  ASSERT_EQ(gamma.shape(), Shape{2});
  for (float v : gamma.data<float>()) EXPECT_EQ(v, 1.f);

  Executable exe(g, {"in:0"}, {"conv:0", "bn:0"});
  std::vector<Tensor> out = exe.run(std::vector<Tensor>{Tensor(DType::kFloat32, {1, 4, 4, 2})});
  ASSERT_EQ(out[1].shape(), out[0].shape());
  for (int64_t i = 0; i < out[0].num_elements(); ++i)
    EXPECT_NEAR(out[1].data<float>()[i], out[0].data<float>()[i], 1e-6);
}

// tiny_model_json as a Sequential model: each layer {class_name, config with its name}, the
// InputLayer kept first (`input` "kept"), or its shape moved to the first layer's
// batch_input_shape ("on_first_layer") or to the model's build_input_shape, as Keras saves a
// model built with model.build() ("build_input_shape"), with the layers under "layers" or, as
// Keras before 2.2.3 saved them, a bare list ("bare_list").
std::string tiny_sequential_json(const std::string& input) {
  nlohmann::json model = nlohmann::json::parse(tiny_model_json());
  nlohmann::json& functional = model["modelTopology"]["model_config"];
  nlohmann::json layers = nlohmann::json::array();
  for (const nlohmann::json& layer : functional["config"]["layers"]) {
    nlohmann::json config = layer["config"];
    config["name"] = layer["name"];
    layers.push_back({{"class_name", layer["class_name"]}, {"config", config}});
  }
  nlohmann::json config = {{"name", "seq"}};
  if (input == "build_input_shape")
    config["build_input_shape"] = layers[0]["config"]["batch_input_shape"];
  else if (input != "kept")
    layers[1]["config"]["batch_input_shape"] = layers[0]["config"]["batch_input_shape"];
  if (input != "kept") layers.erase(layers.begin());
  config["layers"] = layers;
  functional = {{"class_name", "Sequential"}, {"config", input == "bare_list" ? layers : config}};
  return model.dump();
}

// A Sequential model (tf.sequential(), keras.Sequential) runs as the functional model whose
// layers each read the one before: the same outputs as tiny_model_json's. Without an
// InputLayer, the input is Keras's "<first layer>_input".
TEST(TfjsImport, SequentialModelsRunAsTheirFunctionalForm) {
  TempDir dir;
  Tensor x(DType::kFloat32, {2, 4, 4, 2});
  for (int64_t i = 0; i < x.num_elements(); ++i)
    x.data<float>()[i] = std::sin(static_cast<float>(i));
  auto run_out = [&](const Graph& g, const std::string& input) {
    const Tensor out = Executable(g, {input + ":0"}, {"out:0"}).run(std::vector<Tensor>{x})[0];
    return std::vector<float>(out.data<float>().begin(), out.data<float>().end());
  };
  const std::vector<float> want =
      run_out(tfjs::load_model(write_model(dir, tiny_model_json(), tiny_weights())), "in");
  for (const std::string input : {"kept", "on_first_layer", "build_input_shape", "bare_list"}) {
    SCOPED_TRACE(input);
    const std::string in = input == "kept" ? "in" : "conv_input";
    const auto model = write_model(dir, tiny_sequential_json(input), tiny_weights());
    const tfjs::ModelSignature sig = tfjs::read_signature(model);
    EXPECT_EQ(sig.inputs, std::vector<std::string>{in});
    EXPECT_EQ(sig.outputs, std::vector<std::string>{"out"});
    EXPECT_EQ(run_out(tfjs::load_model(model), in), want);
  }
}

TEST(TfjsImport, ASequentialModelWithoutItsInputShapeIsAnErrorNamingTheLayer) {
  std::string json = tiny_sequential_json("on_first_layer");
  const std::string shape = "\"batch_input_shape\"";
  json.replace(json.find(shape), shape.size(), "\"input_shape_\"");
  expect_error(
      [&] {
        TempDir dir;
        tfjs::load_model(write_model(dir, json, tiny_weights()));
      },
      "model_config layer 0 'conv': the first layer of a Sequential model has no "
      "batch_input_shape");
  expect_error(
      [&] {
        TempDir dir;
        tfjs::load_model(write_model(
            dir, R"({"modelTopology": {"class_name": "Sequential", "config": {"layers": []}}})",
            ""));
      },
      "a Sequential model without layers");
}

// Keras and TF.js read a Sequential layer's name from its config, and refuse an InputLayer
// after the first layer (it had become a second input, skipping the layers before it).
TEST(TfjsImport, ASequentialModelsLayersAreNamedByTheirConfigAndOnlyTheFirstIsAnInput) {
  TempDir dir;
  nlohmann::json model = nlohmann::json::parse(tiny_sequential_json("kept"));
  nlohmann::json& layers = model["modelTopology"]["model_config"]["config"]["layers"];
  layers[1]["name"] = "not_conv";  // beside the config's "conv", which names the weights
  EXPECT_GE(tfjs::load_model(write_model(dir, model.dump(), tiny_weights())).find("conv"), 0);
  std::swap(layers[0], layers[1]);
  layers[0]["config"]["batch_input_shape"] = layers[1]["config"]["batch_input_shape"];
  const auto path = write_model(dir, model.dump(), tiny_weights());
  expect_error([&] { tfjs::load_model(path); },
               path.string() +
                   " model_config layer 1 'in' (InputLayer): an InputLayer must be a "
                   "Sequential model's first");
  layers = nlohmann::json::object();
  expect_error([&] { tfjs::load_model(write_model(dir, model.dump(), tiny_weights())); },
               "model_config: 'layers' is not a list");
}

std::string expect_load_error(const std::string& json, const std::string& weights) {
  TempDir dir;
  return error_of([&] { tfjs::load_model(write_model(dir, json, weights)); });
}

TEST(TfjsImport, ShortShardIsAnErrorNamingTheWeight) {
  std::string w = tiny_weights();
  std::string msg = expect_load_error(tiny_model_json(), w.substr(0, w.size() - 4));
  EXPECT_NE(msg.find("out/bias"), std::string::npos) << msg;
}

TEST(TfjsImport, UnknownLayerClassIsAnErrorNamingIt) {
  std::string msg = expect_load_error(tiny_model_json(R"(,
      {"name": "lstm_1", "class_name": "LSTM", "config": {}, "inbound_nodes": [[["out", 0, 0, {}]]]})"),
                                      tiny_weights());
  EXPECT_NE(msg.find("LSTM"), std::string::npos) << msg;
  EXPECT_NE(msg.find("lstm_1"), std::string::npos) << msg;
}

TEST(TfjsImport, MissingWeightIsAnErrorNamingIt) {
  std::string json = tiny_model_json();
  const std::string bias = "\"conv/bias\"";
  json.replace(json.find(bias), bias.size(), "\"conv/bias_\"");
  std::string msg = expect_load_error(json, tiny_weights());
  EXPECT_NE(msg.find("conv/bias"), std::string::npos) << msg;
}

// Keras and TF.js refuse weights whose shapes disagree with the layer's config; the importer
// used to take the weights' shapes over the config's.
TEST(TfjsImport, WeightsThatDisagreeWithTheConfigAreAnErrorNamingThem) {
  struct Case {
    std::string config, changed, error;
  };
  const Case cases[] = {
      {R"("filters": 2)", R"("filters": 3)",
       "layer 'conv' (Conv2D): weight 'conv/kernel' has shape [3,3,2,2], expected [3,3,2,3]"},
      {R"("kernel_size": [3, 3])", R"("kernel_size": [3, 1])", "expected [3,1,2,2]"},
      {R"("units": 3)", R"("units": 4)",
       "layer 'out' (Dense): weight 'out/kernel' has shape [32,3], expected [32,4]"},
      {R"("name": "conv/bias", "shape": [2])", R"("name": "conv/bias", "shape": [1])",
       "weight 'conv/bias' has shape [1], expected [2] from the layer's config"},
      {R"("filters": 2)", R"("filters": 0)", "'filters' must be a positive integer, not 0"},
  };
  for (const Case& c : cases) {
    std::string json = tiny_model_json();
    json.replace(json.find(c.config), c.config.size(), c.changed);
    std::string msg = expect_load_error(json, tiny_weights());
    EXPECT_NE(msg.find(c.error), std::string::npos) << c.changed << ": " << msg;
  }
}

TEST(TfjsImport, MissingShardIsAnErrorNamingTheFile) {
  TempDir dir;
  write_file_atomic(dir / "model.json", tiny_model_json());
  expect_error([&] { tfjs::load_model(dir / "model.json"); }, "w.bin");
}

// A float32 weight of a small model: its manifest name, shape and values.
struct TestWeight {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

const char kSignature[] = R"("input_layers": [["in", 0, 0]], "output_layers": [["f", 0, 0]])";

// A model whose InputLayer "in" has batch_input_shape `input` ("[null, 2, 3, 2]"), followed by
// `layers` (JSON objects, each led by a comma), its weights in one shard.
std::filesystem::path write_small_model(const TempDir& dir, const std::string& input,
                                        const std::string& layers,
                                        const std::vector<TestWeight>& weights = {},
                                        const std::string& signature = kSignature) {
  std::string manifest, bytes;
  for (const TestWeight& w : weights) {
    std::string shape;
    for (int64_t d : w.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
    manifest += (manifest.empty() ? "" : ", ") + std::string(R"({"name": ")") + w.name +
                R"(", "shape": [)" + shape + R"(], "dtype": "float32"})";
    bytes.append(reinterpret_cast<const char*>(w.values.data()), 4 * w.values.size());
  }
  return write_model(dir,
                     R"({
  "format": "layers-model",
  "modelTopology": {"model_config": {"class_name": "Model", "config": {
    "name": "small",
    "layers": [
      {"name": "in", "class_name": "InputLayer", "config": {"batch_input_shape": )" +
                         input + R"(, "dtype": "float32"}, "inbound_nodes": []})" + layers + R"(
    ],
    )" + signature + R"(}}},
  "weightsManifest": [{"paths": ["w.bin"], "weights": [)" +
                         manifest + R"(]}]
})",
                     bytes);
}

// A layer "f" of class `cls` reading "in".
std::string layer_f(const std::string& cls, const std::string& config) {
  return R"(,
      {"name": "f", "class_name": ")" +
         cls + R"(", "config": )" + config + R"(, "inbound_nodes": [[["in", 0, 0, {}]]]})";
}

// The values 0, 1, 2, ... in `shape`.
Tensor iota(const Shape& shape) {
  std::vector<float> v(static_cast<size_t>(num_elements(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  return Tensor::from_floats(shape, v);
}

// The model's "f:0" for `input` fed to "in:0".
Tensor run_f(const std::filesystem::path& model, const Tensor& input) {
  Graph g = tfjs::load_model(model);
  Executable exe(g, {"in:0"}, {"f:0"});
  return exe.run(std::vector<Tensor>{input})[0];
}

// Keras's Flatten with data_format channels_first transposes its input to channels-last order
// first; poet, channels-last throughout and without a Transpose, refuses it where that moves
// elements (it used to flatten as channels_last, silently giving another order).
TEST(TfjsImport, FlattenChannelsFirstIsRefusedWhereKerasWouldTranspose) {
  const std::string channels_first = R"({"data_format": "channels_first"})";
  TempDir dir;
  const auto model = write_small_model(dir, "[null, 2, 3, 2]", layer_f("Flatten", channels_first));
  expect_error([&] { tfjs::load_model(model); },
               model.string() +
                   ": layer 'f' (Flatten): data_format 'channels_first' is not supported: Keras "
                   "would transpose the input [?,2,3,2] to channels-last order");
  // Where the transpose moves nothing it is the plain flatten.
  for (const auto& [input, shape] :
       std::vector<std::pair<std::string, Shape>>{{"[null, 6]", {1, 6}},
                                                  {"[null, 1, 3, 2]", {1, 1, 3, 2}},
                                                  {"[null, 6, 1, 1]", {1, 6, 1, 1}}}) {
    TempDir in_place;
    Tensor out =
        run_f(write_small_model(in_place, input, layer_f("Flatten", channels_first)), iota(shape));
    ASSERT_EQ(out.shape(), (Shape{1, 6})) << input;
    for (int i = 0; i < 6; ++i) EXPECT_EQ(out.data<float>()[i], i) << input;
  }
}

// TF.js's Softmax layer saves axis 1 by default, the last axis of a rank-2 input: poet refused
// every model built with tf.layers.softmax() ("an axis other than the last").
TEST(TfjsImport, SoftmaxTakesTheLastAxisByItsNumberToo) {
  TempDir dir;
  const Tensor out = run_f(
      write_small_model(dir, "[null, 3]", layer_f("Softmax", R"({"axis": 1})")), iota({1, 3}));
  const float e0 = 1.f, e1 = std::exp(1.f), e2 = std::exp(2.f);
  EXPECT_NEAR(out.data<float>()[2], e2 / (e0 + e1 + e2), 1e-6f);
  TempDir other;
  const auto model = write_small_model(other, "[null, 2, 3]", layer_f("Softmax", R"({"axis": 1})"));
  expect_error([&] { tfjs::load_model(model); },
               model.string() + ": layer 'f' (Softmax): Softmax over axis 1, not the last");
}

// Keras and TF.js refuse a convolution both strided and dilated; poet ran it.
TEST(TfjsImport, AStridedDilatedConvolutionIsRefusedAsKerasRefusesIt) {
  TempDir dir;
  const auto model = write_small_model(
      dir, "[null, 5, 5, 1]",
      layer_f("Conv2D", R"({"filters": 1, "kernel_size": [1, 1], "strides": [2, 2],
                            "dilation_rate": [2, 2], "use_bias": false})"),
      {{"f/kernel", {1, 1, 1, 1}, {1.f}}});
  expect_error([&] { tfjs::load_model(model); },
               model.string() +
                   ": layer 'f' (Conv2D): strides and dilation_rate both above 1, "
                   "which Keras and TF.js refuse");
}

// Keras's Reshape resolves a -1 in target_shape from the input's size past the batch; poet
// prepended its own -1 for the batch and refused the model ("more than one -1").
TEST(TfjsImport, ReshapeResolvesItsMinusOneFromTheInputAsKeras) {
  for (const char* target : {"[-1, 2]", "[2, -1]", "[4]"}) {
    TempDir dir;
    const auto model = write_small_model(
        dir, "[null, 2, 2, 1]", layer_f("Reshape", str_cat(R"({"target_shape": )", target, "}")));
    Tensor out = run_f(model, iota({2, 2, 2, 1}));
    EXPECT_EQ(out.shape(), std::string(target) == "[4]" ? Shape({2, 4}) : Shape({2, 2, 2}))
        << target;
    for (int i = 0; i < 8; ++i) EXPECT_EQ(out.data<float>()[i], i) << target;
  }
  struct Case {
    const char *input, *target, *error;
  };
  const Case cases[] = {
      {"[null, 2, 2, 1]", "[-1, 3]",
       "cannot reshape the input [?,2,2,1] (4 elements past the batch) to target_shape [-1,3]"},
      {"[null, 2, 2, 1]", "[0, -1]",
       "cannot reshape the input [?,2,2,1] (4 elements past the batch) to target_shape [0,-1]"},
      // Without a -1 the size must match too: a batch of 3 would have passed as one of 4.
      {"[null, 2, 2, 1]", "[3]",
       "cannot reshape the input [?,2,2,1] (4 elements past the batch) to target_shape [3] (3 "
       "elements)"},
      {"[null, 2, 2, 1]", "[-1, -1]", "target_shape [-1,-1] has more than one -1"},
      {"[null, 2, 2, 1]", "[-2, 2]", "target_shape [-2,2] has a negative dimension -2"},
      {"[null, null, 2, 1]", "[-1, 2]",
       "target_shape [-1,2] has a -1, and the input shape [?,?,2,1] is not known past the batch"},
  };
  for (const Case& c : cases) {
    TempDir dir;
    const auto model = write_small_model(
        dir, c.input, layer_f("Reshape", str_cat(R"({"target_shape": )", c.target, "}")));
    expect_error([&] { tfjs::load_model(model); },
                 model.string() + ": layer 'f' (Reshape): " + c.error);
  }
}

// Keras and TF.js build the model from input_layers and output_layers, and fail on an entry
// naming no layer, an input that is not an InputLayer, or a node or tensor a layer lacks; poet
// ignored them (convert printed "output: nope:0" and exited 0).
TEST(TfjsImport, InputAndOutputLayersMustNameTheModelsLayers) {
  const std::string flatten = layer_f("Flatten", "{}");
  struct Case {
    std::string signature, error;
  };
  const Case cases[] = {
      {R"("input_layers": [["in", 0, 0]], "output_layers": [["nope", 0, 0]])",
       R"(output_layers entry ["nope",0,0]: the model has no layer 'nope')"},
      {R"("input_layers": [["f", 0, 0]], "output_layers": [["f", 0, 0]])",
       R"(input_layers entry ["f",0,0]: layer 'f' is a Flatten, not an InputLayer)"},
      {R"("input_layers": [["in", 0, 0]], "output_layers": [["f", 0, 1]])",
       R"(output_layers entry ["f",0,1]: tensor 1 of layer 'f' does not exist (its one output is tensor 0))"},
      {R"("input_layers": [["in", 1, 0]], "output_layers": [["f", 0, 0]])",
       R"(input_layers entry ["in",1,0]: node 1 of layer 'in' does not exist)"},
      {R"("input_layers": "in", "output_layers": [["f", 0, 0]])", "input_layers is not a list"},
  };
  for (const Case& c : cases) {
    TempDir dir;
    const auto model = write_small_model(dir, "[null, 2, 3, 2]", flatten, {}, c.signature);
    const std::string error = model.string() + ": " + c.error;
    expect_error([&] { tfjs::load_model(model); }, error);
    expect_error([&] { tfjs::read_signature(model); }, error);
  }
  // A layer's input is checked the same way.
  TempDir dir;
  std::string inbound = flatten;
  inbound.replace(inbound.find(R"(["in", 0, 0, {}])"), 16, R"(["in", 0, 1, {}])");
  const auto model = write_small_model(dir, "[null, 2, 3, 2]", inbound);
  expect_error(
      [&] { tfjs::load_model(model); },
      model.string() +
          R"(: layer 'f' (Flatten): inbound_nodes entry ["in",0,1,{}]: tensor 1 of layer 'in' does not exist)");
}

// tf.keras 2.x saves BatchNormalization's axis as a list, [3]: a one-element list of the last
// axis is that axis; other lists stay refused.
TEST(TfjsImport, BatchNormAxisMayBeAOneElementListAsTfKerasSavesIt) {
  std::vector<TestWeight> weights;
  for (const char* w : {"gamma", "beta", "moving_mean", "moving_variance"})
    weights.push_back({str_cat("f/", w), {2}, {std::string(w) == "beta" ? 0.5f : 2.f, 1.f}});
  auto batch_norm = [&](const TempDir& dir, const std::string& axis) {
    return write_small_model(
        dir, "[null, 2, 3, 2]",
        layer_f("BatchNormalization", R"({"epsilon": 0.001, "axis": )" + axis + "}"), weights);
  };
  Tensor expected;
  for (const char* axis : {"3", "[3]", "[-1]"}) {
    TempDir dir;
    Tensor out = run_f(batch_norm(dir, axis), iota({1, 2, 3, 2}));
    if (expected.num_elements() == 0) expected = out;
    ASSERT_EQ(out.shape(), expected.shape()) << axis;
    for (int64_t i = 0; i < out.num_elements(); ++i)
      EXPECT_EQ(out.data<float>()[i], expected.data<float>()[i]) << axis;
  }
  for (const auto& [axis, error] :
       std::vector<std::pair<std::string, std::string>>{{"[1]", "axis 1 is not supported"},
                                                        {"[1, 3]", "axis [1,3] is not supported"},
                                                        {"[]", "axis [] is not supported"}}) {
    TempDir dir;
    const auto model = batch_norm(dir, axis);
    expect_error([&] { tfjs::load_model(model); },
                 model.string() + ": layer 'f' (BatchNormalization): " + error);
  }
}

// Keras's Dense acts on the last axis of an input of any rank; poet's MatMul failed at load,
// naming a node but not the file or the layer.
TEST(TfjsImport, DenseOnRankThreeOrMoreActsOnTheLastAxis) {
  const std::vector<float> kernel = {1, -2, 0.5f, 3, -1, 0.25f}, bias = {10, -10};
  const std::vector<TestWeight> weights = {{"f/kernel", {3, 2}, kernel}, {"f/bias", {2}, bias}};
  const std::string dense = layer_f("Dense", R"({"units": 2, "activation": "linear"})");
  for (const Shape& shape : {Shape{2, 2, 3}, Shape{1, 2, 2, 3}, Shape{3, 3}}) {
    std::string input = "[null";
    for (size_t i = 1; i < shape.size(); ++i) input += ", " + std::to_string(shape[i]);
    input += "]";
    TempDir dir;
    Tensor x = iota(shape);
    Tensor out = run_f(write_small_model(dir, input, dense, weights), x);
    Shape expected_shape = shape;
    expected_shape.back() = 2;
    ASSERT_EQ(out.shape(), expected_shape) << input;
    for (int64_t row = 0; row < x.num_elements() / 3; ++row) {
      for (int u = 0; u < 2; ++u) {
        float sum = 0;
        for (int k = 0; k < 3; ++k) sum += x.data<float>()[row * 3 + k] * kernel[k * 2 + u];
        EXPECT_FLOAT_EQ(out.data<float>()[row * 2 + u], sum + bias[u]) << input << " " << row;
      }
    }
  }
  TempDir dir;
  const auto model = write_small_model(dir, "[null, null, 3]", dense, weights);
  expect_error(
      [&] { tfjs::load_model(model); },
      model.string() + ": layer 'f' (Dense): the input [?,?,3] is not known past the batch");
}

// An op's shape error at load names the model file and the layer it belongs to (it named the
// node alone, and only when the graph was built to run).
TEST(TfjsImport, ShapeErrorsNameTheFileAndTheLayer) {
  TempDir dir;
  const auto model = write_small_model(dir, "[null, 4, 4, 2]", R"(,
      {"name": "p", "class_name": "MaxPooling2D", "config": {"pool_size": [2, 2]}, "inbound_nodes": [[["in", 0, 0, {}]]]},
      {"name": "f", "class_name": "Concatenate", "config": {"axis": -1}, "inbound_nodes": [[["in", 0, 0, {}], ["p", 0, 0, {}]]]})");
  expect_error([&] { tfjs::load_model(model); },
               model.string() +
                   ": layer 'f' (Concatenate): node 'f' (ConcatV2): input 1 has shape [?,2,2,2]");
}

// The trained Inception v3 against TensorFlow.js 4.22's outputs for the same inputs.
TEST(TfjsInceptionSlow, MatchesTensorFlowJs) {
  POET_REQUIRE_FIXTURE("inception_v3_tfjs/model.json");
  Graph g = tfjs::load_model(testing::fixture("inception_v3_tfjs/model.json"));
  Executable exe(g, {"input_1:0"}, {"flatten_1:0", "dense_3:0"});
  for (const char* image : {"panda", "flower1", "orange_105_100"}) {
    std::string ref = std::string("reference/inception_v3_tfjs/") + image;
    Tensor input = read_npy(testing::fixture(ref + ".input.npy"));
    std::vector<Tensor> out = exe.run(std::vector<Tensor>{input});
    Tensor bottleneck = read_npy(testing::fixture(ref + ".bottleneck.npy"));
    Tensor probs = read_npy(testing::fixture(ref + ".probs.npy"));
    ASSERT_EQ(out[0].shape(), bottleneck.shape());
    ASSERT_EQ(out[1].shape(), probs.shape());
    float max_diff = 0;
    for (int64_t i = 0; i < bottleneck.num_elements(); ++i)
      max_diff =
          std::max(max_diff, std::abs(out[0].data<float>()[i] - bottleneck.data<float>()[i]));
    EXPECT_LE(max_diff, 1e-4) << image << " bottleneck";
    for (int64_t i = 0; i < probs.num_elements(); ++i)
      EXPECT_NEAR(out[1].data<float>()[i], probs.data<float>()[i], 1e-5) << image << " class " << i;
  }
}

}  // namespace
}  // namespace poet
