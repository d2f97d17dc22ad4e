// poet classify: the top-k labels of images, printed as classify_image.py prints them
// ("giant panda, panda, Ailuropoda melanoleuca (score = 0.89233)", best first). Knows the
// tensors and preprocessing of Inception v3 (2015) and MobileNet v1 graphs (and retrain.py's
// graphs built on MobileNet); any other graph runs with --input_layer and --output_layer.
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "cli/common.h"
#include "engine/image_codec.h"
#include "engine/image_input.h"
#include "engine/labels.h"

namespace poet::cli {
namespace {

constexpr std::string_view kInceptionInput = "DecodeJpeg/contents:0";

// classify_image.py's --model_dir, the unpacked inception-2015-12-05.tgz. Without --graph its
// graph is read, and its label files and cropped_panda.jpg where no flag names others.
struct ModelDir {
  std::filesystem::path dir;
  std::string graph;            // --graph, or the directory's
  bool graph_from_dir = false;  // no --graph given

  std::string file(std::string_view name) const { return (dir / name).string(); }
};

ModelDir model_dir(const Flags& flags) {
  ModelDir m{.dir = flags.str("model_dir"), .graph = flags.str("graph")};
  m.graph_from_dir = !flags.given("graph");
  if (m.graph_from_dir) {
    m.graph = m.file("classify_image_graph_def.pb");
    std::error_code ec;
    if (!std::filesystem::is_regular_file(m.graph, ec))
      fail("no --graph given, and no ", m.graph, " (--model_dir ", m.dir.string(),
           "). poet cannot download models: unpack inception-2015-12-05.tgz there, or give the "
           "model file with --graph");
  }
  return m;
}

// What to feed, what to fetch, and how to prepare each image.
struct Model {
  std::string input, output;
  ImageInputSpec spec;
  PartialShape declared;     // the graph's shape of `input` (declared_shape); unset for image bytes
  bool image_bytes = false;  // `input` takes a file's bytes (takes_image_bytes)
};

// The first of `names` the graph has, as a tensor name; "" for none.
std::string first_found(const Graph& graph, std::initializer_list<std::string_view> names) {
  for (std::string_view name : names)
    if (graph.find(name) >= 0) return str_cat(name, ":0");
  return "";
}

// Presets recognised from node names, as the scripts that ship with these graphs use them. A
// graph retrained by retrain.py (or poet retrain) keeps the network up to its bottleneck and
// adds final_result, which is then what classify reads.
Model preset(const Graph& graph) {
  Model m;
  if (graph.find("DecodeJpeg/contents") >= 0) {
    // Inception v3 (2015): the graph decodes and normalises the JPEG itself.
    m.output = first_found(graph, {"final_result", "softmax"});
    if (!m.output.empty()) m.input = kInceptionInput;
  } else if (graph.find("input") >= 0 && graph.find("MobilenetV1/Predictions/Reshape") >= 0) {
    m.output = first_found(graph, {"final_result", "MobilenetV1/Predictions/Reshape_1"});
    if (!m.output.empty()) m.input = "input:0";
    m.spec.mean = m.spec.std = 127.5f;
  }
  return m;
}

Model choose_model(const Graph& graph, const Flags& flags, const std::string& graph_path,
                   const ExecOptions& options) {
  Model m = preset(graph);
  if (flags.given("input_layer")) m.input = tensor_name(flags.str("input_layer"));
  if (flags.given("output_layer")) m.output = tensor_name(flags.str("output_layer"));
  if (m.input.empty() || m.output.empty())
    fail(graph_path, ": not a graph poet classify knows (Inception v3 2015, MobileNet v1); give ",
         "--input_layer and --output_layer");
  check_tensor_flag(graph, graph_path, "input_layer", m.input);
  check_tensor_flag(graph, graph_path, "output_layer", m.output);
  m.image_bytes = takes_image_bytes(graph, m.input);
  if (m.image_bytes) {
    constexpr std::string_view kImageFlags[] = {"input_size", "input_mean", "input_std"};
    refuse_image_flags(flags, kImageFlags, graph_path, m.input);
    return m;
  }
  m.declared = declared_shape(graph, m.input, options);

  if (flags.given("input_size")) {
    int64_t size = flags.integer("input_size");
    if (size <= 0 || size > kMaxImageSide)
      fail("--input_size: expected 1..", kMaxImageSide, ", got ", size);
    m.spec.height = m.spec.width = size;
  } else {
    m.spec.height = image_size(m.declared, 1);
    m.spec.width = image_size(m.declared, 2);
    if (m.spec.height == 0 || m.spec.width == 0)
      fail("--input_size is required: the shape of '", m.input, "' in ", graph_path,
           " does not give the image size");
  }
  read_normalisation(flags, graph, m.input, m.spec);
  return m;
}

std::vector<std::string> load_labels(const Flags& flags, const ModelDir& dir) {
  bool plain = flags.given("labels");
  bool imagenet = flags.given("label_map") || flags.given("synsets");
  if (plain && imagenet) fail("--labels cannot be combined with --label_map/--synsets");
  if (plain) return read_labels(flags.str("labels"));
  if (!imagenet && dir.graph_from_dir)
    return read_imagenet_labels(dir.file("imagenet_2012_challenge_label_map_proto.pbtxt"),
                                dir.file("imagenet_synset_to_human_label_map.txt"));
  if (!imagenet) return {};
  return read_imagenet_labels(flags.required("label_map"), flags.required("synsets"));
}

// The images: the arguments and --image_file; with neither, classify_image.py's own
// cropped_panda.jpg from --model_dir.
std::vector<std::string> images_to_classify(const Flags& flags, const ModelDir& dir) {
  std::vector<std::string> inputs = flags.positional();
  if (flags.given("image_file")) inputs.insert(inputs.begin(), flags.str("image_file"));
  const std::string panda = dir.file("cropped_panda.jpg");
  std::error_code ec;
  if (inputs.empty() && dir.graph_from_dir && std::filesystem::is_regular_file(panda, ec))
    inputs.push_back(panda);
  if (inputs.empty()) fail("no IMAGE given (poet classify --help)");
  return image_files(inputs);
}

// --top_k, or classify_image.py's name for it.
int64_t top_k_flag(const Flags& flags) {
  if (flags.given("top_k") && flags.given("num_top_predictions"))
    fail("--num_top_predictions is classify_image.py's name for --top_k: give one of them");
  const char* name = flags.given("num_top_predictions") ? "num_top_predictions" : "top_k";
  const int64_t top_k = flags.integer(name);
  if (top_k < 1) fail("--", name, ": expected a positive integer, got ", top_k);
  return top_k;
}

Tensor image_feed(const Model& m, const std::string& path) {
  return m.image_bytes ? read_image_bytes(path) : read_image_input(path, m.spec);
}

// The Inception pair names only 1000 of its graph's 1008 classes, but none the graph lacks.
void check_label_map_fits(std::span<const float> s, const std::vector<std::string>& labels,
                          const std::string& output) {
  if (labels.size() > s.size())
    fail("--label_map: classes up to ", labels.size() - 1, ", but '", output, "' gives ", s.size(),
         " scores");
}

void print_top(std::span<const float> s, const std::vector<std::string>& labels, int64_t top_k) {
  for (size_t i : top_indices(s, top_k)) {
    const std::string& label = labels.empty() ? str_cat(i) : label_at(labels, i);
    // fabs: printf writes a NaN with its sign bit set as "-nan"; Python's "%.5f" writes "nan".
    std::printf("%s (score = %.5f)\n", label.c_str(), std::isnan(s[i]) ? std::fabs(s[i]) : s[i]);
  }
}

}  // namespace

int classify(Args args) {
  std::vector<FlagSpec> specs = {
      {"graph", "",
       "frozen GraphDef (.pb, .pbtxt) or TF.js model.json (default: --model_dir's "
       "classify_image_graph_def.pb)"},
      {"model_dir", "/tmp/imagenet",
       "classify_image.py's: the unpacked inception-2015-12-05.tgz; without --graph its graph, "
       "and then its label files and cropped_panda.jpg where no labels or image are given"},
      {"image_file", "", "an image (classify_image.py's flag); more may follow as arguments"},
      {"labels", "", "labels file: one per line in output order, or `index:label` lines"},
      {"label_map", "", "Inception v3: imagenet_2012_challenge_label_map_proto.pbtxt"},
      {"synsets", "", "Inception v3: imagenet_synset_to_human_label_map.txt"},
      {"input_layer", "", "tensor to feed (default: the preset's, e.g. input:0)"},
      {"output_layer", "", "tensor of scores to fetch (default: the preset's)"},
      {"input_size", "", "image height and width (default: the input placeholder's shape)"},
      {"input_mean", "",
       "subtracted from each pixel (default: the graph's Sub/y when fed at a Mul of a Sub, as "
       "Inception v3's Mul:0; else the preset's, else 127.5)"},
      {"input_std", "",
       "pixels are then multiplied by 1/std (default: 1/Mul/y there, else as "
       "--input_mean)"},
      {"top_k", "5", "labels printed per image"},
      {"num_top_predictions", "", "classify_image.py's name for --top_k"},
  };
  for (FlagSpec& s : exec_flag_specs()) specs.push_back(s);
  Flags flags(
      "classify",
      "--graph G.pb [--labels L.txt | --label_map M.pbtxt --synsets S.txt] IMAGE_OR_FOLDER...\n"
      "       [--model_dir DIR] [--image_file IMAGE] [--num_top_predictions N]  "
      "(classify_image.py)\n\n"
      "Prints the top labels of each JPEG or PNG image (a folder: each one in it), best\n"
      "first, as `label (score = 0.89233)`; with several images each block starts with\n"
      "`IMAGE:`.",
      specs, args);
  if (flags.help_requested()) return 0;

  // Before the (slow) graph load, so that a typo fails at once.
  const ModelDir dir = model_dir(flags);
  const std::vector<std::string> images = images_to_classify(flags, dir);
  const int64_t top_k = top_k_flag(flags);
  std::vector<std::string> labels = load_labels(flags, dir);

  const std::string& graph_path = dir.graph;
  ExecOptions options = exec_options(flags);  // flag errors before the graph loads
  Graph graph = load_graph(graph_path);
  Model model = choose_model(graph, flags, graph_path, options);
  if (!model.image_bytes)
    options.feed_shapes[model.input] = image_input_shape(model.declared, model.spec);
  // Taken over, not copied: the file's weights then go as the executable packs its own.
  Executable exe(std::move(graph), {model.input}, {model.output}, options);
  run_images(
      exe, images, [&](const std::string& path) { return image_feed(model, path); }, model.output,
      [&](size_t i, std::span<const float> scores) {
        if (flags.given("labels"))
          check_labels_fit(scores, labels, flags.str("labels"), model.output);
        check_label_map_fits(scores, labels, model.output);
        if (images.size() > 1) std::printf("%s%s:\n", i > 0 ? "\n" : "", images[i].c_str());
        print_top(scores, labels, top_k);
      });
  return 0;
}

}  // namespace poet::cli
