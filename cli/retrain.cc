// poet retrain: TensorFlow's retrain.py (the TensorFlow for Poets version, with --architecture):
// the same flags and defaults, log lines, bottleneck cache, output graph, labels and TensorBoard
// summaries. poet adds --graph (a model file instead of --model_dir's download), a seed,
// batched bottleneck extraction, tensor overrides for other graphs and a confusion matrix.
// The work is in trainer/; this file reads flags and reports.
#include <cstdio>
#include <optional>
#include <span>

#include "cli/common.h"
#include "engine/error.h"
#include "engine/file_io.h"
#include "engine/image_codec.h"
#include "engine/thread_pool.h"
#include "importers/tfjs/tfjs.h"
#include "trainer/bottleneck_runner.h"
#include "trainer/distort.h"
#include "trainer/export_graph.h"
#include "trainer/retrain.h"
#include "trainer/summary/confusion_matrix.h"
#include "trainer/summary/progress.h"
#include "trainer/summary_observer.h"

namespace poet::cli {
namespace {

using trainer::RetrainOptions;

std::vector<FlagSpec> retrain_flag_specs() {
  return {
      {"image_dir", "", "folder of labeled images: one sub-folder per class"},
      {"output_graph", "/tmp/output_graph.pb", "where to save the trained graph"},
      {"intermediate_output_graphs_dir", "/tmp/intermediate_graph/",
       "where to save the intermediate graphs (prefix, as retrain.py)"},
      {"intermediate_store_frequency", "0",
       "save an intermediate graph every N steps (0 or less: never)"},
      {"output_labels", "/tmp/output_labels.txt", "where to save the labels"},
      {"summaries_dir", "/tmp/retrain_logs", "where to save TensorBoard summaries"},
      {"how_many_training_steps", "4000", "training steps"},
      {"learning_rate", "0.01", "gradient descent learning rate"},
      {"testing_percentage", "10", "percentage of images used as a test set"},
      {"validation_percentage", "10", "percentage of images used as a validation set"},
      {"eval_step_interval", "10", "evaluate every N steps"},
      {"train_batch_size", "100", "images per training step"},
      {"test_batch_size", "-1", "images in the final test (-1: the whole test set)"},
      {"validation_batch_size", "100", "images per evaluation (-1: the whole validation set)"},
      {"print_misclassified_test_images", "false", "list the misclassified test images", true},
      {"model_dir", "/tmp/imagenet", "folder holding the model file (see --architecture)"},
      {"bottleneck_dir", "/tmp/bottleneck", "bottleneck cache folder"},
      {"final_tensor_name", "final_result", "name of the new output node"},
      {"flip_left_right", "false", "randomly flip half the training images", true},
      {"random_crop", "0", "percent margin to crop the training images by at random"},
      {"random_scale", "0", "percent to scale the training images up by at random"},
      {"random_brightness", "0", "percent to change the training images' brightness by"},
      {"architecture", "inception_v3",
       "inception_v3 or mobilenet_<1.0|0.75|0.50|0.25>_<224|192|160|128>[_quantized]"},
      // poet's additions.
      {"graph", "", "model file (GraphDef .pb/.pbtxt or TF.js model.json) instead of --model_dir"},
      {"random_seed", "0", "seed of every random choice: a seed repeats a run exactly"},
      {"batch", "16", "images per forward pass while computing bottlenecks"},
      {"input_layer", "",
       "tensor fed the normalised image (default: the architecture's; a model.json's input "
       "layer)"},
      {"bottleneck_layer", "", "tensor the new layer is trained on (default: the architecture's)"},
      {"input_size", "",
       "image height and width (default: the input placeholder's, else the architecture's)"},
      {"input_mean", "",
       "subtracted from each pixel (default: the graph's Sub/y when the input is a Mul of a Sub "
       "by constants, as Inception v3's Mul:0; else the architecture's)"},
      {"input_std", "",
       "pixels are then multiplied by 1/std (default: 1/Mul/y in that case; else the "
       "architecture's)"},
      {"normalize_bottlenecks", "false",
       "standardise each bottleneck feature by the training set's mean and std (folded into "
       "the output graph's weights); makes the learning rate independent of the network's "
       "feature scale",
       true},
      {"confusion_matrix", "",
       "write the test confusion matrix to PREFIX.csv and PREFIX.png (default: the "
       "--output_graph path without its extension, plus _confusion)"},
  };
}

int to_int(const Flags& flags, std::string_view name) {
  int64_t v = flags.integer(name);
  if (v < INT32_MIN || v > INT32_MAX) fail("--", name, ": ", v, " is out of range");
  return static_cast<int>(v);
}

RetrainOptions retrain_options(const Flags& flags) {
  RetrainOptions o;
  o.image_dir = flags.str("image_dir");
  if (o.image_dir.empty()) fail("--image_dir is required: a folder with one sub-folder per class");
  o.output_graph = flags.str("output_graph");
  o.intermediate_output_graphs_dir = flags.str("intermediate_output_graphs_dir");
  o.intermediate_store_frequency = to_int(flags, "intermediate_store_frequency");
  o.output_labels = flags.str("output_labels");
  o.summaries_dir = flags.str("summaries_dir");
  o.how_many_training_steps = to_int(flags, "how_many_training_steps");
  o.learning_rate = flags.number("learning_rate");
  o.testing_percentage = to_int(flags, "testing_percentage");
  o.validation_percentage = to_int(flags, "validation_percentage");
  o.eval_step_interval = to_int(flags, "eval_step_interval");
  o.train_batch_size = to_int(flags, "train_batch_size");
  o.test_batch_size = to_int(flags, "test_batch_size");
  o.validation_batch_size = to_int(flags, "validation_batch_size");
  o.print_misclassified_test_images = flags.boolean("print_misclassified_test_images");
  o.model_dir = flags.str("model_dir");
  o.bottleneck_dir = flags.str("bottleneck_dir");
  o.final_tensor_name = flags.str("final_tensor_name");
  o.flip_left_right = flags.boolean("flip_left_right");
  o.random_crop = to_int(flags, "random_crop");
  o.random_scale = to_int(flags, "random_scale");
  o.random_brightness = to_int(flags, "random_brightness");
  o.architecture = flags.str("architecture");
  o.normalize_bottlenecks = flags.boolean("normalize_bottlenecks");
  int64_t seed = flags.integer("random_seed");
  if (seed < 0) fail("--random_seed: expected a non-negative integer, got ", seed);
  o.seed = static_cast<uint64_t>(seed);
  return o;
}

// --graph, else the file retrain.py would have downloaded into --model_dir.
std::string model_path(const Flags& flags, const RetrainOptions& o,
                       const trainer::ModelInfo& info) {
  if (flags.given("graph")) return flags.str("graph");
  std::string path = trainer::join_path(o.model_dir, info.model_file_name);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    fail("no model for --architecture ", o.architecture, ": looked for ", path, " (--model_dir ",
         o.model_dir,
         "). poet cannot download models: unpack the model's archive there, or give the model "
         "file with --graph");
  return path;
}

// A TF.js model has none of the architecture's tensors: its input is the model's input layer,
// its bottleneck must be named (check_tensor).
void tfjs_defaults(const Flags& flags, const std::string& model_json, trainer::BottleneckModel& m) {
  if (flags.given("input_layer")) return;
  tfjs::ModelSignature sig = tfjs::read_signature(model_json);
  if (sig.inputs.size() != 1)
    fail(model_json, ": the model has ", sig.inputs.size(),
         " input layers; name the image input with --input_layer");
  m.input_tensor = tensor_name(sig.inputs[0]);
}

// Fails unless `graph` has the node of `tensor`, the model's `role` ("input" or "bottleneck"),
// naming the flag that gave it, or the architecture whose default it is and how to name
// another (`advice`).
void check_tensor(const Flags& flags, const std::string& model_file, const Graph& graph,
                  const std::string& tensor, const char* flag, const char* role,
                  const std::string& advice) {
  const std::string node = tensor.substr(0, tensor.rfind(':'));
  if (graph.find(node) >= 0) return;
  if (flags.given(flag))
    fail("--", flag, " ", flags.str(flag), ": no node '", node, "' in ", model_file);
  fail(model_file, ": no tensor ", tensor, " (the ", role, " of --architecture ",
       flags.str("architecture"), "); ", advice);
}

// The architecture's tensors and preprocessing, with the command line's overrides. The image
// size defaults to what the graph gives the input (declared_shape); the normalisation to the
// graph's own Sub/Mul constants when the input is fed right after them (Inception v3's Mul:0).
trainer::BottleneckModel bottleneck_model(const Flags& flags, const trainer::ModelInfo& info,
                                          const std::string& model_file, const Graph& graph,
                                          const ExecOptions& exec) {
  trainer::BottleneckModel m{.input_tensor = info.input_tensor,
                             .bottleneck_tensor = info.bottleneck_tensor,
                             .bottleneck_size = info.bottleneck_size,
                             .spec = {.height = info.input_height,
                                      .width = info.input_width,
                                      .mean = info.input_mean,
                                      .std = info.input_std}};
  if (flags.given("input_layer")) m.input_tensor = tensor_name(flags.str("input_layer"));
  const bool tfjs = is_tfjs_model(model_file);
  if (tfjs) tfjs_defaults(flags, model_file, m);
  if (flags.given("bottleneck_layer")) {
    m.bottleneck_tensor = tensor_name(flags.str("bottleneck_layer"));
    m.bottleneck_size = 0;  // taken from the graph
  }
  check_tensor(flags, model_file, graph, m.input_tensor, "input_layer", "input",
               "name it with --input_layer");
  check_tensor(flags, model_file, graph, m.bottleneck_tensor, "bottleneck_layer", "bottleneck",
               str_cat("name the layer to train on with --bottleneck_layer",
                       tfjs ? ", e.g. flatten_1 for a Keras InceptionV3 with a Flatten before "
                              "its Dense head"
                            : ""));
  if (flags.given("input_size")) {
    int64_t size = flags.integer("input_size");
    if (size <= 0 || size > kMaxImageSide)
      fail("--input_size: expected 1..", kMaxImageSide, ", got ", size);
    m.spec.height = m.spec.width = size;
  } else if (const PartialShape declared = declared_shape(graph, m.input_tensor, exec);
             image_size(declared, 1) > 0 && image_size(declared, 2) > 0) {
    m.spec.height = image_size(declared, 1);
    m.spec.width = image_size(declared, 2);
  }
  read_normalisation(flags, graph, m.input_tensor, m.spec);
  return m;
}

void print_line(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

void print_warning(const std::string& line) {
  std::fflush(stdout);
  std::fprintf(stderr, "warning: %s\n", line.c_str());
}

// Every bottleneck file made before training starts, in batches, with progress.
void fill_cache(const RetrainOptions& o, const trainer::Dataset& dataset,
                trainer::BottleneckRunner& runner) {
  std::optional<summary::Progress> progress;
  trainer::CacheFill fill = trainer::fill_bottleneck_cache(
      dataset, o.bottleneck_dir, o.architecture, runner,
      [&](size_t done, size_t total) {
        if (!progress) progress.emplace("bottlenecks", total);
        progress->update(done);
      },
      print_warning);
  if (progress) progress->finish();
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.2f", fill.seconds);
  print_line(str_cat("Bottlenecks: ", fill.computed, " computed, ", fill.reused, " reused from ",
                     o.bottleneck_dir, " in ", seconds, " s"));
}

// Whether `path` lies in `dir` (or is it), links resolved.
bool is_inside(const std::filesystem::path& path, const std::filesystem::path& dir) {
  const std::filesystem::path full = full_path(path), full_dir = full_path(dir);
  if (full.empty() || full_dir.empty()) return false;
  const std::filesystem::path rel = full.lexically_relative(full_dir);
  return !rel.empty() && *rel.begin() != "..";
}

// Two outputs that name one file, or an output over what the run reads, would replace each
// other without a word (the labels over the graph, the confusion PNG over a graph named m.png,
// the graph over a cached bottleneck); a file the run writes where another output is a folder
// would fail at its write, after the bottlenecks and the training.
void check_outputs_apart(const RetrainOptions& o, const trainer::Dataset& dataset,
                         const std::string& confusion, const std::string& model_file) {
  struct Output {
    std::string flag, path;
    bool folder = false;  // the run writes files in it
  };
  const Output outputs[] = {
      {"--output_graph", o.output_graph},
      {"--output_labels", o.output_labels},
      {"--confusion_matrix", confusion + ".csv"},
      {"--confusion_matrix", confusion + ".png"},
      {"--summaries_dir", trainer::join_path(o.summaries_dir, "train"), true},
      {"--summaries_dir", trainer::join_path(o.summaries_dir, "validation"), true}};
  std::vector<Output> folders = {{"--bottleneck_dir", o.bottleneck_dir, true}};
  if (o.intermediate_store_frequency > 0)
    folders.push_back(
        {"--intermediate_output_graphs_dir",
         std::filesystem::path(o.intermediate_output_graphs_dir + "x").parent_path().string(),
         true});
  const std::vector<std::filesystem::path> inputs = graph_files(model_file);
  for (size_t i = 0; i < std::size(outputs); ++i) {
    const auto& [flag, path, folder] = outputs[i];
    for (size_t j = 0; j < i; ++j)
      if (same_file(path, outputs[j].path))
        fail(flag, " ", path, ": the run also writes ", outputs[j].flag, " there");
    for (const std::filesystem::path& input : inputs)
      if (same_file(path, input)) fail(flag, " ", path, ": is ", input.string(), ", the model");
    if (is_inside(path, o.image_dir)) fail(flag, " ", path, ": is inside --image_dir");
    for (const trainer::ImageClass& c : dataset.classes)
      if (is_inside(path, trainer::join_path(o.bottleneck_dir, c.dir_name)))
        fail(flag, " ", path, ": is inside --bottleneck_dir's folder of class ", c.dir_name);
  }
  for (const Output& file : outputs) {
    if (file.folder) continue;
    for (std::span<const Output> others :
         {std::span<const Output>(outputs), std::span<const Output>(folders)})
      for (const Output& other : others)
        if (&other != &file && is_inside(other.path, file.path))
          fail(file.flag, " ", file.path, ": the run needs it as a folder, for ", other.flag, " ",
               other.path);
  }
}

// Where the confusion matrix goes, without the extensions.
std::string confusion_prefix(const Flags& flags, const RetrainOptions& o) {
  std::string prefix = flags.str("confusion_matrix");
  if (!prefix.empty()) return prefix;
  std::filesystem::path graph(o.output_graph);
  return (graph.parent_path() / (graph.stem().string() + "_confusion")).string();
}

// `prefix`: confusion_prefix.
void write_confusion(const std::string& prefix, const trainer::RetrainResult& result) {
  summary::ConfusionMatrix matrix(result.labels);
  for (size_t i = 0; i < result.test_truth.size(); ++i)
    matrix.add(static_cast<size_t>(result.test_truth[i]),
               static_cast<size_t>(result.test_predictions[i]));
  std::printf("Confusion matrix (rows: true class, columns: predicted):\n%s",
              matrix.to_text().c_str());
  matrix.write_csv(prefix + ".csv");
  matrix.write_png(prefix + ".png");
  print_line(str_cat("Confusion matrix written to ", prefix, ".csv and ", prefix, ".png"));
}

void print_model(const trainer::BottleneckModel& model) {
  print_line(str_cat("Input: ", model.input_tensor, " [", model.spec.height, "x", model.spec.width,
                     "], pixels (x - ", model.spec.mean, ") / ", model.spec.std,
                     "; bottleneck: ", model.bottleneck_tensor));
}

// So that this run's curves do not join an earlier run's in TensorBoard (retrain.py deletes
// the whole --summaries_dir; poet only the event files in train/ and validation/).
void clear_old_summaries(const std::string& summaries_dir) {
  if (const size_t cleared = trainer::clear_old_event_files(summaries_dir); cleared > 0)
    print_line(str_cat("Removed ", cleared, " event files of an earlier run from ", summaries_dir,
                       "/{train,validation}"));
}

// What the trainer calls back for: the network, an image's bottleneck (distorted or not), the
// log and the summaries. Every argument must outlive the training.
trainer::RetrainHooks training_hooks(trainer::BottleneckRunner& runner,
                                     const trainer::DistortOptions& distort,
                                     trainer::SummaryObserver& observer, ThreadPool& pool) {
  return {
      // Read again for each graph written, after the network's packed weights go: the export's
      // peak is then the larger of the two (about 100 MB each for Inception v3), not their sum.
      // An intermediate graph of a distorted run makes its next step build the network again.
      .model =
          [&runner] {
            runner.release();
            return runner.graph();
          },
      .bottleneck = [&runner](const std::string& path) { return runner.image_bottleneck(path); },
      .distorted_bottlenecks =
          [&runner, &distort, &pool](std::span<const std::string> paths, trainer::Random& random) {
            return trainer::distorted_bottlenecks(paths, distort, runner, random, pool);
          },
      .log = print_line,
      .warn = print_warning,
      .observer = &observer,
      .pool = &pool};
}

}  // namespace

int retrain(Args args) {
  std::vector<FlagSpec> specs = retrain_flag_specs();
  for (FlagSpec& s : exec_flag_specs()) specs.push_back(s);
  Flags flags("retrain",
              "--image_dir DIR [--architecture A] [--graph MODEL | --model_dir DIR] ...\n\n"
              "Trains a new final layer on top of a trained network, as TensorFlow's retrain.py:\n"
              "writes --output_graph, --output_labels, the bottleneck cache and TensorBoard\n"
              "summaries, and prints the final test accuracy and its confusion matrix.",
              specs, args);
  if (flags.help_requested()) return 0;
  flags.expect_no_positional();

  RetrainOptions options = retrain_options(flags);
  trainer::ModelInfo info = trainer::model_info(options.architecture);
  // Check the flags and images before the (slow) graph load and bottleneck phase; retrain.py
  // too warns about the dataset while it scans it, first.
  const trainer::Dataset dataset = trainer::check_retrain_options(options);
  for (const std::string& warning : dataset.warnings) print_warning(warning);
  const std::string confusion = confusion_prefix(flags, options);
  check_can_write(confusion + ".csv", PathKind::kFile, "--confusion_matrix");
  int64_t batch = flags.integer("batch");
  if (batch < 1 || batch > 4096) fail("--batch: expected 1..4096, got ", batch);

  const std::string model_file = model_path(flags, options, info);
  check_outputs_apart(options, dataset, confusion, model_file);
  ExecOptions exec = exec_options(flags);  // flag errors before the graph loads
  Graph graph = load_graph(model_file);
  trainer::BottleneckModel model = bottleneck_model(flags, info, model_file, graph, exec);
  const trainer::RetrainedGraphSpec retrained{.input_tensor = model.input_tensor,
                                              .bottleneck_tensor = model.bottleneck_tensor,
                                              .final_tensor_name = options.final_tensor_name};
  trainer::check_retrained_names(graph, retrained);
  print_model(model);
  // The runner's first build takes the graph over; the export reads the file again if so.
  trainer::BottleneckRunner runner(std::move(graph), model, static_cast<int>(batch), exec,
                                   print_warning, [&] { return load_graph(model_file); });
  info.input_tensor = model.input_tensor;
  info.bottleneck_tensor = model.bottleneck_tensor;
  info.bottleneck_size = runner.bottleneck_size();
  // While the runner still holds the graph (until a build takes it over), for TensorBoard.
  std::string graph_summary =
      trainer::retrained_graph_summary(runner.graph(), retrained, info.bottleneck_size,
                                       static_cast<int64_t>(dataset.classes.size()));

  if (!options.distort()) {
    fill_cache(options, dataset, runner);
    // Training reads the cache; the network's packed weights (over 100 MB for Inception v3) would
    // only wait for a cache file removed meanwhile, which builds the graph again.
    runner.release();
  }

  const trainer::DistortOptions distort = options.distort_options();
  clear_old_summaries(options.summaries_dir);
  trainer::SummaryObserver observer(options.summaries_dir, std::move(graph_summary));
  // Sums the new layer's steps, and decodes and distorts a step's images before that.
  ThreadPool pool(exec.threads);
  trainer::RetrainResult result =
      trainer::retrain(options, info, training_hooks(runner, distort, observer, pool), &dataset);
  for (const std::filesystem::path& lost : observer.lost_files())
    print_warning(str_cat(lost.string(), ": removed during the run, with its summaries"));
  write_confusion(confusion, result);
  print_line(str_cat("Wrote ", options.output_graph, " and ", options.output_labels,
                     "; TensorBoard: tensorboard --logdir ", options.summaries_dir));
  return 0;
}

}  // namespace poet::cli
