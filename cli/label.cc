// poet label: TensorFlow's label_image.py for retrained graphs. The same flags and defaults
// (input layer `input`, output `final_result`, mean 128, std 128, the top 5), printing
// `label score` lines best first as TensorFlow's label_image.py does (`daisy 0.99798`, the
// score in numpy's float32 notation). Differences: several images (or folders of images) in
// one run, each block headed by its path; the input size defaults to what the graph gives the
// input (label_image.py's fixed 224x224 fails on a 128x128 MobileNet); labels
// are checked against the number of scores.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>

#include "cli/common.h"
#include "engine/image_codec.h"
#include "engine/image_input.h"
#include "engine/labels.h"

namespace poet::cli {
namespace {

// numpy's str() of a float32: the shortest digits that read back as the same float, in
// scientific notation ("1e-04") below 1e-4 or from 1e16 (compared as doubles: float32(1e-4) is
// below), else positional with those digits and zeros after them ("123456790.0" for
// 123456792), ".0" on whole numbers.
std::string numpy_float(float value) {
  if (std::isnan(value)) return "nan";  // to_chars keeps NaN's sign bit, numpy does not
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  const std::string scientific(buf, end);
  const double magnitude = std::abs(static_cast<double>(value));
  if (magnitude != 0 && (magnitude < 1e-4 || magnitude >= 1e16)) return scientific;
  // "-1.2345e+02" -> sign, the digits "12345" and the exponent 2.
  const size_t e = scientific.find('e');
  const std::string sign = std::signbit(value) ? "-" : "";
  std::string digits = scientific.substr(sign.size(), e - sign.size());
  std::erase(digits, '.');
  const int exponent = std::stoi(scientific.substr(e + 1));
  if (exponent < 0) return sign + "0." + std::string(-exponent - 1, '0') + digits;
  const size_t whole = static_cast<size_t>(exponent) + 1;
  if (digits.size() <= whole) return sign + digits + std::string(whole - digits.size(), '0') + ".0";
  return sign + digits.substr(0, whole) + "." + digits.substr(whole);
}

void print_top(std::span<const float> s, const std::vector<std::string>& labels, int64_t top_k) {
  for (size_t i : top_indices(s, top_k))
    std::printf("%s %s\n", labels[i].c_str(), numpy_float(s[i]).c_str());
}

int64_t size_flag(const Flags& flags, std::string_view name, int64_t declared) {
  int64_t v = flags.given(name) ? flags.integer(name) : (declared > 0 ? declared : 224);
  if (v <= 0 || v > kMaxImageSide) fail("--", name, ": expected 1..", kMaxImageSide, ", got ", v);
  return v;
}

}  // namespace

int label(Args args) {
  std::vector<FlagSpec> specs = {
      {"image", "", "image to label (JPEG or PNG); more images or folders may follow the flags"},
      {"graph", "tf_files/retrained_graph.pb", "the retrained graph (.pb, .pbtxt, model.json)"},
      {"labels", "tf_files/retrained_labels.txt", "labels file, one per line in output order"},
      {"input_layer", "input", "tensor fed the normalised image (or a string one: the JPEG bytes)"},
      {"output_layer", "final_result", "tensor of scores"},
      {"input_height", "", "image height (default: the input's height in the graph, else 224)"},
      {"input_width", "", "image width (default: the input's width in the graph, else 224)"},
      {"input_mean", "",
       "subtracted from each pixel (default: the graph's Sub/y when fed at a Mul of a Sub, as "
       "Inception v3's Mul:0; else 128)"},
      {"input_std", "", "pixels are then multiplied by 1/std (default: 1/Mul/y there, else 128)"},
      {"top_k", "5", "labels printed per image"},
  };
  for (FlagSpec& s : exec_flag_specs()) specs.push_back(s);
  Flags flags("label",
              "--graph G.pb --labels L.txt (--image IMAGE | IMAGE_OR_FOLDER...)\n\n"
              "Prints the top labels of each image as `label score`, best first; with several\n"
              "images each block starts with `IMAGE:`.",
              specs, args);
  if (flags.help_requested()) return 0;

  std::vector<std::string> inputs = flags.positional();
  if (flags.given("image")) inputs.insert(inputs.begin(), flags.str("image"));
  if (inputs.empty()) fail("no image given: --image IMAGE, or images and folders as arguments");
  std::vector<std::string> images = image_files(inputs);
  int64_t top_k = flags.integer("top_k");
  if (top_k < 1) fail("--top_k: expected a positive integer, got ", top_k);
  std::vector<std::string> labels = read_labels(flags.str("labels"));

  std::string graph_path = flags.str("graph");
  ExecOptions options = exec_options(flags);  // flag errors before the graph loads
  Graph graph = load_graph(graph_path);
  // label_image.py's default input is MobileNet's; retrain.py's Inception v3 graphs are fed
  // at Mul (retrain.py's docstring passes --input_layer=Mul to label_image.py).
  if (!flags.given("input_layer") && graph.find("input") < 0 && graph.find("Mul") >= 0)
    fail(graph_path, ": no node 'input' (the default --input_layer); a graph retrained on ",
         "Inception v3 is fed at --input_layer Mul");
  std::string input = tensor_name(flags.str("input_layer"));
  std::string output = tensor_name(flags.str("output_layer"));
  check_tensor_flag(graph, graph_path, "input_layer", input);
  check_tensor_flag(graph, graph_path, "output_layer", output);
  std::function<Tensor(const std::string&)> read = read_image_bytes;
  if (takes_image_bytes(graph, input)) {
    // The first retrain.py's label_image fed DecodeJpeg/contents:0 the file's bytes.
    constexpr std::string_view kImageFlags[] = {"input_height", "input_width", "input_mean",
                                                "input_std"};
    refuse_image_flags(flags, kImageFlags, graph_path, input);
  } else {
    const PartialShape declared = declared_shape(graph, input, options);
    ImageInputSpec spec{.height = size_flag(flags, "input_height", image_size(declared, 1)),
                        .width = size_flag(flags, "input_width", image_size(declared, 2)),
                        .mean = 128,
                        .std = 128};
    read_normalisation(flags, graph, input, spec);
    options.feed_shapes[input] = image_input_shape(declared, spec);
    read = [spec](const std::string& path) { return read_image_input(path, spec); };
  }
  Executable exe(std::move(graph), {input}, {output}, options);
  run_images(exe, images, read, output, [&](size_t i, std::span<const float> scores) {
    check_labels_fit(scores, labels, flags.str("labels"), output);
    if (images.size() > 1) std::printf("%s%s:\n", i > 0 ? "\n" : "", images[i].c_str());
    print_top(scores, labels, top_k);
  });
  return 0;
}

}  // namespace poet::cli
