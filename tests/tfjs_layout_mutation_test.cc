// `poet convert --layout inception_v3_2015` on mutated copies of the real Inception v3
// model.json: each copy must convert or fail with a poet::Error that names the file. Nothing
// else may escape (a library exception, a crash), as docs/RELIABILITY.md promises for every
// reader of untrusted files. The layout matches a whole Inception v3 (197 KB of JSON, 22 MB of
// weights), past what a libFuzzer target reaches, so the mutations here are structural: a
// config value, a layer, its inputs or its class, as a hand-edited or wrongly exported model
// would differ.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "engine/error.h"
#include "importers/tfjs/inception_v3_layout.h"
#include "importers/tfjs/json_util.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"

namespace poet::testing {
namespace {

using tfjs::Json;

// What a config field may become: wrong types, sizes and names.
const std::vector<Json>& hostile_values() {
  static const std::vector<Json> values = [] {
    std::vector<Json> v;
    for (const char* text :
         {"0",   "-1",       "1",         "3",        "1e300",       "4294967299", "\"x\"", "null",
          "[]",  "{}",       "[1]",       "[3,3]",    "[2,2]",       "[-1,3]",     "true",  "false",
          "0.5", "\"same\"", "\"valid\"", "\"relu\"", "\"softmax\"", "{\"h\":3}"})
      v.push_back(Json::parse(text));
    return v;
  }();
  return values;
}

const char* const kClasses[] = {
    "Conv2D",     "Dense",       "Flatten",      "Dropout",          "Activation",
    "ReLU",       "Concatenate", "MaxPooling2D", "AveragePooling2D", "BatchNormalization",
    "InputLayer", "NoSuchLayer"};

// One to three random edits of the model's layers; returns what they were, for messages.
class Mutator {
 public:
  explicit Mutator(unsigned seed) : rng_(seed) {}

  std::string mutate(Json& model) {
    Json& config = model["modelTopology"]["model_config"]["config"];
    std::string what;
    for (int edits = 1 + pick(3); edits > 0; --edits) what += edit(config) + "; ";
    return what;
  }

 private:
  int pick(size_t n) {
    return static_cast<int>(std::uniform_int_distribution<size_t>(0, n - 1)(rng_));
  }
  template <class T>
  const T& any(const std::vector<T>& v) {
    return v[pick(v.size())];
  }
  static Json inbound(const std::string& layer) {
    return Json::array({Json::array({Json::array({layer, 0, 0, Json::object()})})});
  }

  std::string edit(Json& config) {
    Json& layers = config["layers"];
    const size_t i = pick(layers.size());
    Json& layer = layers[i];
    const std::string name = layer.value("name", "?");
    switch (pick(8)) {
      case 0: {  // a config value
        Json& c = layer["config"];
        if (c.empty()) return "nothing";
        auto it = std::next(c.begin(), pick(c.size()));
        *it = any(hostile_values());
        return name + "." + it.key() + " = " + it->dump();
      }
      case 1:
        layers.erase(i);
        return name + " removed";
      case 2: {  // inputs rewired
        const std::vector<Json> inputs = {Json::array(), Json::parse("[[]]"), inbound("nope"),
                                          inbound(layers[pick(layers.size())].value("name", "")),
                                          inbound(name)};
        layer["inbound_nodes"] = any(inputs);
        return name + ".inbound_nodes = " + layer["inbound_nodes"].dump();
      }
      case 3:
        layer["class_name"] = kClasses[pick(std::size(kClasses))];
        return name + " made " + layer["class_name"].get<std::string>();
      case 4: {
        const size_t j = pick(layers.size());
        std::swap(layers[i], layers[j]);
        return name + " swapped with " + layers[i].value("name", "?");
      }
      case 5:
        layers.insert(layers.begin() + pick(layers.size()), Json(layer));
        return name + " duplicated";
      case 6:
        layer["inbound_nodes"] = layers[pick(layers.size())]["inbound_nodes"];
        return name + " given another layer's inputs";
      default: {
        const char* key = pick(2) ? "input_layers" : "output_layers";
        config[key] =
            Json::array({Json::array({layers[pick(layers.size())].value("name", ""), 0, 0})});
        return std::string(key) + " = " + config[key].dump();
      }
    }
  }

  std::mt19937 rng_;
};

// A directory holding links to the fixture's weight shards, which the copies' manifests name,
// and where to write a copy of its model.json.
struct ModelCopies {
  TempDir dir;
  Json original;
  std::filesystem::path path;

  ModelCopies() : original(tfjs::read_json(fixture("inception_v3_tfjs/model.json"))) {
    for (const auto& entry : std::filesystem::directory_iterator(fixture("inception_v3_tfjs")))
      if (entry.path().extension() == ".bin")
        std::filesystem::create_symlink(entry.path(), dir / entry.path().filename().string());
    path = dir / "model.json";
  }
  // Writes `model` as the copy and converts it.
  tfjs::InceptionLayout convert(const Json& model) const {
    std::ofstream(path) << model.dump();
    return tfjs::inception_v3_2015_layout(path, 128.f, 1.f / 128.f);
  }
};

TEST(TfjsLayoutSlow, MutatedModelsConvertOrFailNamingTheFile) {
  POET_REQUIRE_FIXTURE("inception_v3_tfjs/model.json");
  const ModelCopies copies;
  const std::string& path = copies.path.string();
  int converted = 0, refused = 0;
  for (unsigned seed = 0; seed < 120; ++seed) {
    Json model = copies.original;
    const std::string mutation = Mutator(seed).mutate(model);
    try {
      copies.convert(model);
      ++converted;
    } catch (const Error& e) {
      ++refused;
      EXPECT_EQ(std::string(e.what()).rfind(path, 0), 0u)
          << "seed " << seed << " (" << mutation << "): " << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "seed " << seed << " (" << mutation << "): escaped " << e.what();
    }
  }
  // Both outcomes occur, so the mutations reach past the first checks and also break models.
  EXPECT_GT(converted, 0);
  EXPECT_GT(refused, 0);
}

// A weight the model's config asks for but its manifest lacks: found only after the whole
// model matched, so no small file in tests/bad_inputs reaches it.
TEST(TfjsLayoutSlow, AMissingWeightNamesTheFile) {
  POET_REQUIRE_FIXTURE("inception_v3_tfjs/model.json");
  const ModelCopies copies;
  Json model = copies.original;
  for (Json& layer : model["modelTopology"]["model_config"]["config"]["layers"])
    if (layer["name"] == "conv2d_1") layer["config"]["use_bias"] = true;
  expect_error([&] { copies.convert(model); },
               copies.path.string() +
                   ": weight 'conv2d_1/bias' (for 'conv/batchnorm/moving_mean') is missing");
}

}  // namespace
}  // namespace poet::testing
