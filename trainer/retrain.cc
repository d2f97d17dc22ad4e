#include "trainer/retrain.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "engine/error.h"
#include "engine/file_io.h"
#include "trainer/bottleneck_cache.h"
#include "trainer/normalisation.h"
#include "trainer/sampling.h"

namespace poet::trainer {
namespace {

// printf-style formatting for the log lines retrain.py prints with '%'.
template <class... Args>
std::string format(const char* pattern, Args... args) {
  std::vector<char> buf(256);
  int n = std::snprintf(buf.data(), buf.size(), pattern, args...);
  if (n < 0) fail("retrain: cannot format a log line");
  if (static_cast<size_t>(n) >= buf.size()) {
    buf.resize(static_cast<size_t>(n) + 1);
    std::snprintf(buf.data(), buf.size(), pattern, args...);
  }
  return std::string(buf.data(), static_cast<size_t>(n));
}

// `text` right-aligned in `width` characters, as Python's "%70s" % text: UTF-8 continuation
// bytes do not count.
std::string right_aligned(std::string_view text, size_t width) {
  const auto chars = static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
  return std::string(width > chars ? width - chars : 0, ' ') + std::string(text);
}

// An empty directory flag is the current directory, where the run would scatter its class
// folders or graphs (and delete event files in ./train and ./validation); "./" says so on
// purpose.
void check_not_empty(const std::string& dir, std::string_view flag) {
  if (dir.empty()) fail(flag, ": an empty directory name; give ./ for the current directory");
}

// Every place the run writes to can be written: a bad path fails before the bottlenecks and
// the training, not after them.
void check_outputs(const RetrainOptions& o) {
  check_can_write(o.output_graph, PathKind::kFile, "--output_graph");
  check_can_write(o.output_labels, PathKind::kFile, "--output_labels");
  check_not_empty(o.bottleneck_dir, "--bottleneck_dir");
  check_not_empty(o.summaries_dir, "--summaries_dir");
  check_can_write(o.summaries_dir, PathKind::kDirectory, "--summaries_dir");
  // retrain.py's intermediate names: the flag's value with "intermediate_<step>.pb" appended.
  if (o.intermediate_store_frequency > 0) {
    check_not_empty(o.intermediate_output_graphs_dir, "--intermediate_output_graphs_dir");
    check_can_write(str_cat(o.intermediate_output_graphs_dir, "intermediate_",
                            o.how_many_training_steps, ".pb"),  // the longest step number
                    PathKind::kFile, "--intermediate_output_graphs_dir");
  }
}

void check_values(const RetrainOptions& o) {
  if (o.image_dir.empty()) fail("--image_dir is required");
  if (o.how_many_training_steps < 0)
    fail("--how_many_training_steps ", o.how_many_training_steps, ": must not be negative");
  if (!(o.learning_rate > 0) || std::isinf(o.learning_rate))
    fail("--learning_rate ", o.learning_rate, ": must be a positive number");
  if (o.eval_step_interval < 1)
    fail("--eval_step_interval ", o.eval_step_interval, ": must be at least 1");
  // A batch is drawn with replacement, so it may exceed its set; but each image's bottleneck
  // is held (8 KB for Inception v3's), and 10^8 of them ended in std::bad_alloc.
  constexpr int64_t kMaxBatch = 100000;
  for (auto [flag, value] : {std::pair{"--train_batch_size", o.train_batch_size},
                             {"--validation_batch_size", o.validation_batch_size},
                             {"--test_batch_size", o.test_batch_size}}) {
    if (value == 0) fail(flag, " 0: a batch needs images (-1: all)");
    if (value > kMaxBatch) fail(flag, " ", value, ": at most ", kMaxBatch, " (-1: all)");
  }
  check_distort_options(o.distort_options());
  check_outputs(o);
}

// Whether every image of `image_class` has a file in the bottleneck cache (valid or not: a run
// recomputes an invalid one, and its write then fails naming the file). An image whose cache
// file's name would not fit a file system (the image's name with "_<architecture>.txt") is
// named now: it failed when its bottleneck was written, partway through the cache.
bool cache_complete(const Dataset& dataset, const ImageClass& image_class,
                    const RetrainOptions& o) {
  bool complete = true;
  for (Split split : {Split::kTraining, Split::kValidation, Split::kTesting}) {
    for (const std::string& file : image_class.images(split)) {
      const std::filesystem::path cache =
          bottleneck_path(o.bottleneck_dir, image_class.dir_name, file, o.architecture);
      if (const size_t bytes = cache.filename().string().size(); bytes > NAME_MAX)
        fail(dataset.image_path(image_class, file), ": its bottleneck file's name would be ", bytes,
             " bytes, over the ", NAME_MAX, " a file system allows; rename the image");
      complete = complete && std::filesystem::exists(cache);
    }
  }
  return complete;
}

// Every set must have images somewhere, or training, validation or testing cannot run.
void check_sets(const Dataset& dataset) {
  for (Split split : {Split::kTraining, Split::kValidation, Split::kTesting}) {
    bool any = false;
    for (const ImageClass& c : dataset.classes) any |= !c.images(split).empty();
    if (any) continue;
    const std::string empty = str_cat("--image_dir ", dataset.image_dir, ": no image falls in the ",
                                      split_name(split), " set");
    if (dataset.image_dir.find("_nohash_") != std::string::npos)
      fail(empty,
           ": the split hashes each image's path up to its first \"_nohash_\", here in "
           "--image_dir itself, so every image falls in the same set; rename the folder");
    fail(empty, "; add images or change --testing_percentage / --validation_percentage");
  }
}

struct Batch {
  std::vector<float> inputs;
  std::vector<int> labels;
  std::vector<std::string> paths;
};

class Trainer {
 public:
  Trainer(const RetrainOptions& options, const ModelInfo& info, const RetrainHooks& hooks,
          const Dataset* dataset)
      : options_(options),
        info_(info),
        hooks_(hooks),
        dataset_(dataset ? *dataset
                         : scan_image_dir(options.image_dir, options.testing_percentage,
                                          options.validation_percentage)),
        cache_(dataset_, options.bottleneck_dir, options.architecture, info.bottleneck_size,
               hooks.bottleneck, [this](const std::string& m) { warn(m); }),
        random_(options.seed),
        layer_(info.bottleneck_size, static_cast<int>(dataset_.classes.size()),
               options.seed ^ 0x9e3779b97f4a7c15ull) {
    if (!dataset)
      for (const std::string& w : dataset_.warnings) warn(w);
    check_sets(dataset_);
  }

  RetrainResult run();

 private:
  void log(const std::string& line) const {
    if (hooks_.log) hooks_.log(line);
  }
  void warn(const std::string& line) const {
    if (hooks_.warn) hooks_.warn(line);
  }
  void cache_all();
  void fit_normalisation();
  Batch batch(Split split, int size, bool distorted);
  void train_step(int step);
  RetrainResult test();
  void write_graph(const std::string& path) const;

  const RetrainOptions& options_;
  const ModelInfo& info_;
  const RetrainHooks& hooks_;
  Dataset dataset_;
  BottleneckCache cache_;
  Random random_;
  SoftmaxLayer layer_;
  std::optional<FeatureNormalisation> normalisation_;
};

void Trainer::cache_all() {
  size_t done = 0;
  for (const ImageClass& c : dataset_.classes) {
    for (Split split : {Split::kTraining, Split::kTesting, Split::kValidation}) {
      for (const std::string& file : c.images(split)) {
        cache_.get(c, file);
        if (++done % 100 == 0) log(str_cat(done, " bottleneck files created."));
      }
    }
  }
}

// From the undistorted training images, also when distortions are on: the statistics of the
// features, not of one run's random draws.
void Trainer::fit_normalisation() {
  FeatureStatistics stats(info_.bottleneck_size);
  for (const ImageClass& c : dataset_.classes) {
    for (const std::string& file : c.images(Split::kTraining)) stats.add(cache_.get(c, file));
  }
  normalisation_ = stats.finish();
  log(str_cat("Bottlenecks normalised by the mean and standard deviation of ", stats.count(),
              " training images"));
}

Batch Trainer::batch(Split split, int size, bool distorted) {
  Batch b;
  const std::vector<Sample> samples = sample_batch(dataset_, split, size, random_);
  b.inputs.reserve(samples.size() * info_.bottleneck_size);
  for (const Sample& s : samples) {
    const ImageClass& c = dataset_.classes[s.class_index];
    const std::string& file = c.images(split)[s.image_index];
    if (!distorted) {
      std::vector<float> values = cache_.get(c, file);
      b.inputs.insert(b.inputs.end(), values.begin(), values.end());
    }
    b.labels.push_back(s.class_index);
    b.paths.push_back(dataset_.image_path(c, file));
  }
  if (distorted) {
    const std::vector<std::vector<float>> rows = hooks_.distorted_bottlenecks(b.paths, random_);
    if (rows.size() != b.paths.size())
      fail("retrain: ", rows.size(), " distorted bottlenecks for ", b.paths.size(), " images");
    for (size_t i = 0; i < rows.size(); ++i) {
      if (rows[i].size() != static_cast<size_t>(info_.bottleneck_size))
        fail(b.paths[i], ": the distorted image gave ", rows[i].size(),
             " bottleneck values, expected ", info_.bottleneck_size);
      b.inputs.insert(b.inputs.end(), rows[i].begin(), rows[i].end());
    }
  }
  if (normalisation_) normalisation_->apply(b.inputs);
  return b;
}

void Trainer::train_step(int step) {
  Batch train = batch(Split::kTraining, options_.train_batch_size, options_.distort());
  Gradients before = layer_.gradients(train.inputs, train.labels, hooks_.pool);
  if (hooks_.observer) hooks_.observer->on_train_step(step, train.inputs, before, layer_);
  layer_.apply(before, options_.learning_rate);
  bool last = step + 1 == options_.how_many_training_steps;
  if (step % options_.eval_step_interval == 0 || last) {
    // As retrain.py: the train figures are re-evaluated after the update, on the same batch.
    Evaluation after = layer_.evaluate(train.inputs, train.labels, hooks_.pool);
    log(format("Step %d: Train accuracy = %.1f%%", step, after.accuracy * 100));
    log(format("Step %d: Cross entropy = %f", step, after.cross_entropy));
    Batch validation = batch(Split::kValidation, options_.validation_batch_size, false);
    Evaluation v = layer_.evaluate(validation.inputs, validation.labels, hooks_.pool);
    if (hooks_.observer) hooks_.observer->on_validation(step, validation.inputs, v, layer_);
    log(format("Step %d: Validation accuracy = %.1f%% (N=%d)", step, v.accuracy * 100,
               static_cast<int>(validation.labels.size())));
  }
  int every = options_.intermediate_store_frequency;
  if (every > 0 && step % every == 0 && step > 0) {
    // retrain.py concatenates here rather than joining paths.
    std::string path =
        str_cat(options_.intermediate_output_graphs_dir, "intermediate_", step, ".pb");
    log("Save intermediate result to : " + path);
    write_graph(path);
  }
}

RetrainResult Trainer::test() {
  Batch test = batch(Split::kTesting, options_.test_batch_size, false);
  Evaluation e = layer_.evaluate(test.inputs, test.labels, hooks_.pool);
  RetrainResult result{.test_accuracy = e.accuracy,
                       .test_count = static_cast<int>(test.labels.size()),
                       .labels = {},
                       .test_truth = test.labels,
                       .test_predictions = e.predictions};
  log(format("Final test accuracy = %.1f%% (N=%d)", e.accuracy * 100, result.test_count));
  if (options_.print_misclassified_test_images) {
    log("=== MISCLASSIFIED TEST IMAGES ===");
    for (size_t i = 0; i < test.labels.size(); ++i) {
      if (e.predictions[i] != test.labels[i])
        log(str_cat(right_aligned(test.paths[i], 70), "  ",
                    dataset_.classes[e.predictions[i]].label));
    }
  }
  return result;
}

void Trainer::write_graph(const std::string& path) const {
  RetrainedGraphSpec spec{.input_tensor = info_.input_tensor,
                          .bottleneck_tensor = info_.bottleneck_tensor,
                          .final_tensor_name = options_.final_tensor_name};
  const SoftmaxLayer layer = normalisation_ ? normalisation_->fold(layer_) : layer_;
  write_retrained_graph(hooks_.model(), spec, layer.weights_tensor(), layer.biases_tensor(), path);
}

RetrainResult Trainer::run() {
  if (!options_.distort()) cache_all();
  if (options_.normalize_bottlenecks) fit_normalisation();
  for (int step = 0; step < options_.how_many_training_steps; ++step) train_step(step);
  RetrainResult result = test();
  // The graph and its labels go together: checked again first, so that a labels folder gone or
  // made unwritable during the training leaves the old pair, not a new graph with old labels.
  check_can_write(options_.output_graph, PathKind::kFile, "--output_graph");
  check_can_write(options_.output_labels, PathKind::kFile, "--output_labels");
  write_graph(options_.output_graph);
  write_file_atomic(options_.output_labels, dataset_.labels_text());
  for (const ImageClass& c : dataset_.classes) result.labels.push_back(c.label);
  return result;
}

}  // namespace

ModelInfo model_info(const std::string& architecture) {
  std::string name = architecture;
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name == "inception_v3") {
    return {.model_file_name = "classify_image_graph_def.pb",
            .input_tensor = "Mul:0",
            .bottleneck_tensor = "pool_3/_reshape:0",
            .bottleneck_size = 2048,
            .input_width = 299,
            .input_height = 299,
            .input_mean = 128,
            .input_std = 128};
  }
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    size_t end = name.find('_', start);
    parts.push_back(name.substr(start, end == std::string::npos ? end : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  auto one_of = [](const std::string& s, std::initializer_list<const char*> options) {
    for (const char* o : options)
      if (s == o) return true;
    return false;
  };
  bool ok = parts[0] == "mobilenet" && (parts.size() == 3 || parts.size() == 4) &&
            one_of(parts[1], {"1.0", "0.75", "0.50", "0.25"}) &&
            one_of(parts[2], {"224", "192", "160", "128"}) &&
            (parts.size() == 3 || parts[3] == "quantized");
  if (!ok) {
    fail("--architecture ", architecture,
         ": expected inception_v3 or mobilenet_<1.0|0.75|0.50|0.25>_<224|192|160|128>"
         "[_quantized]");
  }
  int size = std::stoi(parts[2]);
  return {.model_file_name = str_cat("mobilenet_v1_", parts[1], "_", parts[2], "/",
                                     parts.size() == 4 ? "quantized_graph.pb" : "frozen_graph.pb"),
          .input_tensor = "input:0",
          .bottleneck_tensor = "MobilenetV1/Predictions/Reshape:0",
          .bottleneck_size = 1001,
          .input_width = size,
          .input_height = size,
          .input_mean = 127.5f,
          .input_std = 127.5f};
}

Dataset check_retrain_options(const RetrainOptions& options) {
  check_values(options);
  Dataset dataset =
      scan_image_dir(options.image_dir, options.testing_percentage, options.validation_percentage);
  check_sets(dataset);
  // retrain.py writes only the bottleneck files that are missing, so a complete cache may be
  // shared or read-only: only the folders of classes with a file to write must be writable.
  for (const ImageClass& image_class : dataset.classes)
    if (!cache_complete(dataset, image_class, options))
      check_can_write(join_path(options.bottleneck_dir, image_class.dir_name), PathKind::kDirectory,
                      "--bottleneck_dir");
  return dataset;
}

RetrainResult retrain(const RetrainOptions& options, const ModelInfo& info,
                      const RetrainHooks& hooks, const Dataset* dataset) {
  check_values(options);  // the sets are checked on the dataset the trainer scans
  if (!hooks.model) fail("retrain: no model function given");
  if (!hooks.bottleneck) fail("retrain: no bottleneck function given");
  if (options.distort() && !hooks.distorted_bottlenecks)
    fail("retrain: distortions are on but no distorted-bottleneck function is given");
  Trainer trainer(options, info, hooks, dataset);
  return trainer.run();
}

}  // namespace poet::trainer
