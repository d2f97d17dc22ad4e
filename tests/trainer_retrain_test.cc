// The retrain driver end to end with a stand-in network: bottlenecks are cached and reused,
// logs follow retrain.py's lines, the observer sees every step, outputs are written.
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <optional>

#include "engine/error.h"
#include "engine/executor.h"
#include "engine/file_io.h"
#include "importers/tensorflow/graphdef.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"
#include "trainer/retrain.h"

namespace poet::trainer {
namespace {

using ::poet::testing::error_of;
using ::poet::testing::expect_error;
using ::poet::testing::TempDir;

constexpr int kSize = 8;

Graph tiny_model() {
  tensorflow::GraphDef def;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      "node { name: 'image' op: 'Placeholder' attr { key: 'dtype' value { type: DT_FLOAT } } }"
      "node { name: 'feat' op: 'Identity' input: 'image' "
      "       attr { key: 'T' value { type: DT_FLOAT } } }",
      &def));
  return tf::import_graphdef(std::move(def));
}

ModelInfo tiny_info() {
  return {.model_file_name = "tiny.pb",
          .input_tensor = "image:0",
          .bottleneck_tensor = "feat:0",
          .bottleneck_size = kSize};
}

// The class is the folder's letter; "liar" images look like class b whatever their folder.
std::vector<float> fake_bottleneck(const std::string& path) {
  std::vector<float> v(kSize);
  size_t h = std::hash<std::string>{}(path);
  for (int k = 0; k < kSize; ++k) v[k] = 0.1f * static_cast<float>((h >> (k * 4)) % 7) - 0.3f;
  size_t slash = path.rfind('/');
  int c = path.find("liar") != std::string::npos ? 1 : path[slash - 1] - 'a';
  v[c] += 2.0f;
  return v;
}

struct CountingObserver : TrainingObserver {
  // Also checks that a train step's observer sees the layer before the step's update, as the
  // forward pass saw it (retrain.py's train summaries come from the same run as its update).
  void on_train_step(int step, std::span<const float> inputs, const Gradients& batch,
                     const SoftmaxLayer& layer) override {
    train_steps.push_back(step);
    if (layer.logits(inputs) != batch.logits) layer_after_update_at.push_back(step);
    if (step == 0) first_biases.assign(layer.biases().begin(), layer.biases().end());
  }
  void on_validation(int step, std::span<const float>, const Evaluation&,
                     const SoftmaxLayer&) override {
    validation_steps.push_back(step);
  }
  std::vector<int> train_steps, validation_steps, layer_after_update_at;
  std::vector<float> first_biases;
};

class RetrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    old_cwd_ = std::filesystem::current_path();
    std::filesystem::current_path(tmp_.path());
    for (char c : {'a', 'b', 'c'}) {
      std::filesystem::create_directories(std::string("imgs/") + c);
      for (int i = 0; i < 30; ++i) std::ofstream(str_cat("imgs/", c, "/", i, ".jpg")) << "x";
    }
    // A class-a image in the test set that looks like class b: one misclassification.
    for (int i = 0;; ++i) {
      liar_ = str_cat("imgs/a/liar_ü", i, ".jpg");
      if (assign_split(liar_, 10, 10) == Split::kTesting) break;
    }
    std::ofstream(liar_) << "x";
    options_.image_dir = "imgs";
    options_.bottleneck_dir = "bn";
    options_.output_graph = "out/retrained.pb";
    options_.output_labels = "out/labels.txt";
    options_.architecture = "tiny";
    options_.how_many_training_steps = 50;
    options_.learning_rate = 0.5;
    options_.train_batch_size = 20;
    options_.validation_batch_size = -1;
    options_.print_misclassified_test_images = true;
    options_.seed = 1;
  }
  void TearDown() override { std::filesystem::current_path(old_cwd_); }

  RetrainResult run() {
    hooks_.bottleneck = [this](const std::string& path) {
      computed_.push_back(path);
      return fake_bottleneck(path);
    };
    hooks_.log = [this](const std::string& line) { logs_.push_back(line); };
    hooks_.warn = [this](const std::string& line) { warnings_.push_back(line); };
    hooks_.observer = &observer_;
    if (!hooks_.model) hooks_.model = [this] { return model_; };
    return retrain(options_, tiny_info(), hooks_);
  }
  bool logged(const std::string& line) const {
    return std::find(logs_.begin(), logs_.end(), line) != logs_.end();
  }

  TempDir tmp_;
  std::filesystem::path old_cwd_;
  std::string liar_;
  Graph model_ = tiny_model();
  RetrainOptions options_;
  RetrainHooks hooks_;
  CountingObserver observer_;
  std::vector<std::string> computed_, logs_, warnings_;
};

TEST_F(RetrainTest, TrainsLogsAndWritesLikeRetrainPy) {
  RetrainResult result = run();
  EXPECT_EQ(computed_.size(), 91u);  // every image once
  EXPECT_TRUE(warnings_.empty());
  EXPECT_TRUE(logs_[0].starts_with("Step 0: Train accuracy = ")) << logs_[0];
  EXPECT_TRUE(logs_[1].starts_with("Step 0: Cross entropy = ")) << logs_[1];
  EXPECT_TRUE(logs_[2].starts_with("Step 0: Validation accuracy = ")) << logs_[2];
  EXPECT_TRUE(logged("Step 49: Train accuracy = 100.0%"));
  Dataset d = scan_image_dir("imgs", 10, 10);
  int validation = 0, testing = 0;
  for (const ImageClass& c : d.classes) {
    validation += static_cast<int>(c.validation.size());
    testing += static_cast<int>(c.testing.size());
  }
  EXPECT_TRUE(logged(str_cat("Step 49: Validation accuracy = 100.0% (N=", validation, ")")));
  // All test images right but the liar.
  char final_line[100];
  std::snprintf(final_line, sizeof final_line, "Final test accuracy = %.1f%% (N=%d)",
                100.0 * (testing - 1) / testing, testing);
  EXPECT_TRUE(logged(final_line)) << final_line;
  EXPECT_EQ(result.test_count, testing);
  EXPECT_TRUE(logged("=== MISCLASSIFIED TEST IMAGES ==="));
  // Python's "%70s" counts characters: the liar's "ü" is two bytes and one character.
  EXPECT_EQ(logs_.back(), std::string(70 - (liar_.size() - 1), ' ') + liar_ + "  b");
  // Evaluations at steps 0, 10, ..., 40 and the last; a train summary every step.
  EXPECT_EQ(observer_.validation_steps, (std::vector<int>{0, 10, 20, 30, 40, 49}));
  EXPECT_EQ(observer_.train_steps.size(), 50u);
  EXPECT_EQ(observer_.layer_after_update_at, std::vector<int>{});
  EXPECT_EQ(observer_.first_biases, std::vector<float>(3, 0.0f));  // as initialised
  EXPECT_EQ(read_file("out/labels.txt"), "a\nb\nc\n");
  EXPECT_EQ(result.labels, (std::vector<std::string>{"a", "b", "c"}));
  Graph out = tf::load_graphdef("out/retrained.pb");
  EXPECT_EQ(out.node(out.size() - 1).name, "final_result");
  EXPECT_TRUE(std::filesystem::exists("bn/a/0.jpg_tiny.txt"));
}

TEST_F(RetrainTest, SecondRunReusesTheCacheAndRepeats) {
  run();
  std::vector<std::string> first = logs_;
  computed_.clear();
  logs_.clear();
  run();
  EXPECT_TRUE(computed_.empty());
  EXPECT_EQ(logs_, first);  // same seed, same run
  // A damaged cache file is recomputed with a warning naming it.
  write_file_atomic("bn/b/3.jpg_tiny.txt", "garbage");
  run();
  EXPECT_EQ(computed_, (std::vector<std::string>{"imgs/b/3.jpg"}));
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_TRUE(warnings_[0].starts_with("bn/b/3.jpg_tiny.txt: invalid bottleneck file"));
}

// An output that cannot be written any more when the training ends (its folder gone, or made
// unwritable) stops the run before the graph is written: the new graph was written, then the
// labels failed, leaving it beside the old labels.
TEST_F(RetrainTest, OutputsTheRunCannotWriteAnyMoreLeaveTheOldGraph) {
  options_.output_labels = "lab/labels.txt";
  run();
  const std::string graph = read_file("out/retrained.pb");
  options_.seed = 2;  // another layer, so another graph
  hooks_.log = [](const std::string&) {
    if (!std::filesystem::is_directory("lab")) return;
    std::filesystem::remove_all("lab");
    std::ofstream("lab") << "a file where the labels' folder was";
  };
  expect_error([&] { retrain(options_, tiny_info(), hooks_); },
               "--output_labels lab/labels.txt: lab is a file, not a directory");
  EXPECT_EQ(read_file("out/retrained.pb"), graph);
}

TEST_F(RetrainTest, IntermediateGraphs) {
  options_.intermediate_store_frequency = 20;
  options_.intermediate_output_graphs_dir = "inter/";
  int reads = 0;
  hooks_.model = [&] {
    ++reads;
    return model_;
  };
  run();
  EXPECT_FALSE(std::filesystem::exists("inter/intermediate_0.pb"));
  EXPECT_TRUE(std::filesystem::exists("inter/intermediate_20.pb"));
  EXPECT_TRUE(std::filesystem::exists("inter/intermediate_40.pb"));
  EXPECT_TRUE(logged("Save intermediate result to : inter/intermediate_20.pb"));
  // The original graph is asked for as each graph is written, not held through training.
  EXPECT_EQ(reads, 3);

  // retrain.py saves only when the frequency is above 0: a negative one is "never", not an error.
  std::filesystem::remove_all("inter");
  options_.intermediate_store_frequency = -1;
  run();
  EXPECT_FALSE(std::filesystem::exists("inter"));
}

TEST_F(RetrainTest, WithoutTheOriginalGraphNothingRuns) {
  run();
  hooks_.model = {};
  expect_error([&] { retrain(options_, tiny_info(), hooks_); }, "no model function given");
}

TEST_F(RetrainTest, DistortionsUseTheDistortedHookForTrainingOnly) {
  options_.flip_left_right = true;
  EXPECT_THROW(run(), Error);  // no distorted-bottleneck hook
  int distorted = 0, calls = 0;
  hooks_.distorted_bottlenecks = [&](std::span<const std::string> paths, Random&) {
    std::vector<std::vector<float>> rows;
    for (const std::string& path : paths) rows.push_back(fake_bottleneck(path));
    distorted += static_cast<int>(paths.size());
    ++calls;
    return rows;
  };
  computed_.clear();
  run();
  EXPECT_EQ(distorted, 50 * 20);
  EXPECT_EQ(calls, 50);  // each step's batch at once, for the network to take in batches
  // Nothing cached up front: only validation and test images were computed.
  EXPECT_LT(computed_.size(), 91u);
}

// Remembers the layer and (normalised) inputs of the last evaluation.
struct LastValidation : TrainingObserver {
  void on_validation(int, std::span<const float> inputs, const Evaluation&,
                     const SoftmaxLayer& layer) override {
    rows.assign(inputs.begin(), inputs.end());
    trained.emplace(layer.input_size(), layer.classes(),
                    std::vector<float>(layer.weights().begin(), layer.weights().end()),
                    std::vector<float>(layer.biases().begin(), layer.biases().end()));
  }
  std::vector<float> rows;
  std::optional<SoftmaxLayer> trained;
};

// The exported graph, fed raw bottlenecks, gives what the layer gave on normalised ones.
TEST_F(RetrainTest, NormalisedBottlenecksAreFoldedIntoTheGraph) {
  options_.normalize_bottlenecks = true;
  LastValidation last;
  run();
  hooks_.observer = &last;
  logs_.clear();
  RetrainResult result = retrain(options_, tiny_info(), hooks_);
  int training = 0;
  for (const ImageClass& c : scan_image_dir("imgs", 10, 10).classes)
    training += static_cast<int>(c.training.size());
  EXPECT_TRUE(logged(str_cat("Bottlenecks normalised by the mean and standard deviation of ",
                             training, " training images")));
  EXPECT_EQ(result.test_accuracy, 1.0 - 1.0 / result.test_count);  // only the liar is wrong
  // The validation set, whole and in class order (validation_batch_size -1), as raw values.
  std::vector<float> raw;
  Dataset d = scan_image_dir("imgs", 10, 10);
  for (const ImageClass& c : d.classes)
    for (const std::string& file : c.validation) {
      std::vector<float> v = fake_bottleneck(d.image_path(c, file));
      raw.insert(raw.end(), v.begin(), v.end());
    }
  ASSERT_EQ(raw.size(), last.rows.size());
  ASSERT_TRUE(last.trained.has_value());
  EXPECT_GT(std::fabs(raw[0] - last.rows[0]), 0.1f);  // the layer saw normalised values
  const int64_t n = static_cast<int64_t>(raw.size() / kSize);
  Executable exe(tf::load_graphdef("out/retrained.pb"), {"image:0"}, {"final_result:0"});
  Tensor feed = Tensor::from_floats({n, kSize}, raw);
  Tensor probs = exe.run(std::span(&feed, 1)).at(0);
  std::vector<double> want = last.trained->probabilities(last.rows);
  ASSERT_EQ(static_cast<size_t>(probs.num_elements()), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(probs.data<float>()[i], want[i], 1e-5);
}

TEST_F(RetrainTest, BadOptions) {
  auto run_error = [this] { return error_of([this] { run(); }); };
  options_.eval_step_interval = 0;
  EXPECT_EQ(run_error(), "--eval_step_interval 0: must be at least 1");
  options_.eval_step_interval = 10;
  options_.train_batch_size = 0;
  EXPECT_EQ(run_error(), "--train_batch_size 0: a batch needs images (-1: all)");
  options_.train_batch_size = 10;
  options_.validation_percentage = 0;
  EXPECT_EQ(run_error(),
            "--image_dir imgs: no image falls in the validation set; add images or change "
            "--testing_percentage / --validation_percentage");
}

TEST(TrainerModelInfo, Architectures) {
  ModelInfo m = model_info("MobileNet_0.25_128_quantized");
  EXPECT_EQ(m.model_file_name, "mobilenet_v1_0.25_128/quantized_graph.pb");
  EXPECT_EQ(m.bottleneck_tensor, "MobilenetV1/Predictions/Reshape:0");
  EXPECT_EQ(m.bottleneck_size, 1001);
  EXPECT_EQ(m.input_width, 128);
  EXPECT_EQ(m.input_mean, 127.5f);
  EXPECT_EQ(model_info("mobilenet_1.0_224").model_file_name,
            "mobilenet_v1_1.0_224/frozen_graph.pb");
  ModelInfo i = model_info("inception_v3");
  EXPECT_EQ(i.input_tensor, "Mul:0");
  EXPECT_EQ(i.bottleneck_tensor, "pool_3/_reshape:0");
  EXPECT_EQ(i.bottleneck_size, 2048);
  for (const char* bad : {"mobilenet_0.3_224", "mobilenet_1.0_100", "mobilenet_1.0_224_fast",
                          "mobilenet_1.0", "resnet", ""})
    EXPECT_THROW(model_info(bad), Error) << bad;
}

}  // namespace
}  // namespace poet::trainer
