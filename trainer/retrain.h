// retrain.py's main loop, tied together from the trainer's pieces: scan the image folders,
// cache every bottleneck, train the new softmax layer by gradient descent on random batches,
// report train and validation accuracy every eval interval, test, then write the retrained
// graph and its labels. Running the network is a callback (so this runs without one in
// tests); TensorBoard summaries are an observer (trainer/summary_writer implements one).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "trainer/dataset.h"
#include "trainer/distort.h"
#include "trainer/export_graph.h"
#include "trainer/random.h"
#include "trainer/softmax_layer.h"

namespace poet {
class ThreadPool;
}

namespace poet::trainer {

// retrain.py's flags, with its defaults.
struct RetrainOptions {
  std::string image_dir;
  std::string output_graph = "/tmp/output_graph.pb";
  std::string intermediate_output_graphs_dir = "/tmp/intermediate_graph/";
  int intermediate_store_frequency = 0;  // 0 or less: none (retrain.py's test is > 0)
  std::string output_labels = "/tmp/output_labels.txt";
  std::string summaries_dir = "/tmp/retrain_logs";
  int how_many_training_steps = 4000;
  double learning_rate = 0.01;
  int testing_percentage = 10;
  int validation_percentage = 10;
  int eval_step_interval = 10;
  int train_batch_size = 100;       // negative: the whole training set every step
  int test_batch_size = -1;         // negative: the whole test set
  int validation_batch_size = 100;  // negative: the whole validation set
  bool print_misclassified_test_images = false;
  std::string model_dir = "/tmp/imagenet";
  std::string bottleneck_dir = "/tmp/bottleneck";
  std::string final_tensor_name = "final_result";
  bool flip_left_right = false;
  int random_crop = 0;        // percent
  int random_scale = 0;       // percent
  int random_brightness = 0;  // percent
  std::string architecture = "inception_v3";
  // poet's addition: retrain.py is unseeded; poet's runs repeat exactly for a given seed.
  uint64_t seed = 0;
  // poet's addition: standardise each bottleneck feature by the training set's mean and std
  // (trainer/normalisation.h); folded into the exported layer.
  bool normalize_bottlenecks = false;

  bool distort() const {
    return flip_left_right || random_crop != 0 || random_scale != 0 || random_brightness != 0;
  }
  DistortOptions distort_options() const {
    return {.flip_left_right = flip_left_right,
            .random_crop = random_crop,
            .random_scale = random_scale,
            .random_brightness = random_brightness};
  }
};

// What retrain.py's create_model_info knows about an --architecture.
struct ModelInfo {
  std::string model_file_name;  // relative to --model_dir
  std::string input_tensor;     // the normalised image goes here
  std::string bottleneck_tensor;
  int bottleneck_size = 0;
  int input_width = 0, input_height = 0;  // the input is RGB
  float input_mean = 0, input_std = 1;
};
// inception_v3 or mobilenet_<1.0|0.75|0.50|0.25>_<224|192|160|128>[_quantized] (any
// case); anything else is an Error naming the flag.
ModelInfo model_info(const std::string& architecture);

// Told about training as it goes; the summary writer implements it.
class TrainingObserver {
 public:
  virtual ~TrainingObserver() = default;
  // Every step: the training batch as the layer saw it before the step's update (retrain.py
  // records its train summaries in the same run as the update).
  // `inputs` are the batch's bottlenecks, row-major [batch, bottleneck size].
  virtual void on_train_step(int step, std::span<const float> inputs, const Gradients& batch,
                             const SoftmaxLayer& layer) {}
  // Every eval step: the validation batch after the step's update.
  virtual void on_validation(int step, std::span<const float> inputs, const Evaluation& validation,
                             const SoftmaxLayer& layer) {}
};

struct RetrainHooks {
  // The original graph, its input and bottleneck tensors named in the ModelInfo. Called each
  // time a retrained graph is written (the last one, and intermediate ones), so that a caller
  // need not hold its weights through training.
  std::function<Graph()> model;
  // Image path -> its bottleneck (decode, resize, normalise, run the network).
  std::function<std::vector<float>(const std::string& image_path)> bottleneck;
  // Image paths -> the bottlenecks of randomly distorted copies, in order, each image's
  // distortion drawn from `random` in turn (a step's batch at once, so that the network can
  // take them in batches); needed only with distortions.
  std::function<std::vector<std::vector<float>>(std::span<const std::string> image_paths,
                                                Random& random)>
      distorted_bottlenecks;
  std::function<void(const std::string& line)> log;
  std::function<void(const std::string& line)> warn;
  TrainingObserver* observer = nullptr;
  // Threads that sum the new layer's steps (the results are the same for any count); null: the
  // calling thread alone.
  ThreadPool* pool = nullptr;
};

struct RetrainResult {
  double test_accuracy = 0;
  int test_count = 0;
  std::vector<std::string> labels;
  // The final test, one entry per test image: its true and predicted class.
  std::vector<int> test_truth, test_predictions;
};

// What retrain() checks before it starts: the options' values, and that --image_dir puts
// images in every set. A caller with slow work before retrain() (poet retrain's bottleneck
// phase) calls it first, so that a bad flag fails at once. Returns the scan of --image_dir,
// whose warnings the caller shows.
Dataset check_retrain_options(const RetrainOptions& options);

// `dataset`: check_retrain_options' scan, its warnings shown; null: scanned here, the
// warnings given to hooks.warn.
RetrainResult retrain(const RetrainOptions& options, const ModelInfo& info,
                      const RetrainHooks& hooks, const Dataset* dataset = nullptr);

}  // namespace poet::trainer
