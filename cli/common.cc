#include "cli/common.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <exception>
#include <limits>
#include <numeric>
#include <optional>

#include "engine/file_io.h"
#include "engine/image_codec.h"
#include "engine/op.h"
#include "importers/tensorflow/graphdef.h"
#include "importers/tfjs/tfjs.h"
#include "trainer/graph_preprocessing.h"

namespace poet::cli {

bool is_tfjs_model(const std::filesystem::path& path) { return path.extension() == ".json"; }

Graph load_graph(const std::filesystem::path& path) {
  if (is_tfjs_model(path)) return tfjs::load_model(path);
  return tf::load_graphdef(path);
}

std::vector<std::filesystem::path> graph_files(const std::filesystem::path& path) {
  if (is_tfjs_model(path)) return tfjs::model_files(path);
  return {path};
}

std::vector<FlagSpec> exec_flag_specs() {
  return {
      {"backend", "native", "kernels to run: native (SIMD), onednn or ref (plain reference)"},
      {"backend_op", "",
       "OP=BACKEND: run every node of op type OP on BACKEND instead (Conv2D=onednn; the "
       "optimiser's fused forms count as their op); may be repeated",
       false, true},
      {"threads", "0", "worker threads; 0 uses every core"},
      {"batch_split", "auto",
       "auto, on or off: run a batch's images one at a time spread over the threads (graphs "
       "that keep images apart, native backend); auto when there is an image per thread (one "
       "thread: a batch of two or more)"},
      {"layer_split", "auto",
       "auto, on or off: split each layer's work over the threads when a batch runs whole "
       "(fewer images than threads, or no batch split); off runs it on one thread; auto times "
       "both in the first runs and keeps the faster (one thread only for runs under 1 ms)"},
      {"branches", "auto",
       "auto, on or off: where the layers are split over the threads, run the branches of a "
       "fork-join (Inception's towers) side by side instead, each layer on one thread; auto "
       "where the first runs time it faster (with --layer_split auto)"},
      {"check_numerics", "false", "keep the graph's CheckNumerics checks", true},
      {"winograd", "on",
       "on or off: run native 3x3, 5x5, 1x7, 7x1, 1x3 and 3x1 stride-1 convolutions with "
       "Winograd (F(4x4, 3x3), F(2x2, 5x5), F(4, 7) and F(4, 3) along one axis) where it is "
       "faster; off: always the direct kernel"},
      {"fuse_depthwise", "on",
       "on or off: run a native depthwise convolution and the small 1x1 convolution that alone "
       "reads it (MobileNet's pairs), and the layers before them whose outputs outgrow the "
       "caches (MobileNet v1 1.0's stem and first two pairs), a few rows at a time through "
       "every layer, as one; off: one layer each"},
  };
}

namespace {

// An auto|on|off flag's value as a BatchSplit, LayerSplit or ParallelBranches.
template <class Mode>
Mode auto_on_off(const Flags& flags, const std::string& name) {
  const std::string value = flags.str(name);
  if (value == "auto") return Mode::kAuto;
  if (value == "on") return Mode::kOn;
  if (value == "off") return Mode::kOff;
  fail("--", name, ": expected auto, on or off, got '", value, "'");
}

// An on|off flag's value.
bool on_off(const Flags& flags, const std::string& name) {
  const std::string value = flags.str(name);
  if (value != "on" && value != "off") fail("--", name, ": expected on or off, got '", value, "'");
  return value == "on";
}

}  // namespace

ExecOptions exec_options(const Flags& flags) {
  ExecOptions o;
  std::string backend = flags.str("backend");
  if (std::optional<Backend> b = parse_backend(backend)) {
    o.backend = *b;
  } else {
    fail("--backend: expected native, onednn or ref, got '", backend, "'");
  }
  for (const std::string& given : flags.all("backend_op")) {
    const size_t eq = given.find('=');
    std::optional<Backend> b =
        eq == std::string::npos ? std::nullopt : parse_backend(given.substr(eq + 1));
    if (eq == 0 || !b)
      fail("--backend_op: expected OP=native|onednn|ref (Conv2D=onednn), got '", given, "'");
    const std::string op = given.substr(0, eq);
    if (!is_known_op(op))
      fail("--backend_op: poet has no op '", op, "' (a TensorFlow op type: Conv2D)");
    // As a repeated flag is, an op given twice is an error: the first value would be dropped.
    if (!o.op_backends.emplace(op, *b).second)
      fail("--backend_op: op '", op, "' is given more than once (", op, "=",
           backend_name(o.op_backends.at(op)), ", then ", given, ")");
  }
  int64_t threads = flags.integer("threads");
  if (threads < 0 || threads > 1024) fail("--threads: expected 0..1024, got ", threads);
  o.threads = static_cast<int>(threads);
  o.check_numerics = flags.boolean("check_numerics");
  o.batch_split = auto_on_off<BatchSplit>(flags, "batch_split");
  o.layer_split = auto_on_off<LayerSplit>(flags, "layer_split");
  o.parallel_branches = auto_on_off<ParallelBranches>(flags, "branches");
  o.winograd = on_off(flags, "winograd");
  o.fuse_depthwise_pointwise = on_off(flags, "fuse_depthwise");
  // A placeholder the fetches need but nothing feeds: how this command feeds one.
  if (flags.declares("feed")) {
    o.unfed_hint = "use --feed";
  } else if (flags.declares("input_layer")) {
    o.unfed_hint =
        "the command feeds --input_layer alone: give it that placeholder, or a tensor the paths "
        "from the placeholder all pass through";
  }
  return o;
}

PartialShape declared_shape(const Graph& graph, const std::string& input, ExecOptions options) {
  // Fetching the input itself computes nothing: no weights are packed, and no thread but the
  // caller's is needed.
  options.threads = 1;
  return Executable(graph, {input}, {input}, options).feed_info(0).shape;
}

int64_t image_size(const PartialShape& shape, int axis) {
  return shape.known_rank && shape.rank() == 4 && shape.dim(axis) > 0 ? shape.dim(axis) : 0;
}

std::span<const float> image_scores(const Tensor& scores, size_t i, size_t images,
                                    const std::string& output) {
  const size_t per_image = static_cast<size_t>(scores.num_elements()) / images;
  if (scores.dtype() != DType::kFloat32 || per_image == 0 ||
      static_cast<size_t>(scores.num_elements()) != per_image * images ||
      static_cast<int64_t>(per_image) != scores.dim(-1))
    fail("'", output, "' is ", dtype_name(scores.dtype()), " ", shape_string(scores.shape()),
         " for ", images, images == 1 ? " image" : " images", "; expected float scores for each");
  return scores.data<float>().subspan(i * per_image, per_image);
}

namespace {

// The files of one run, read; on a failure, those before it and the error.
struct ReadFiles {
  std::vector<Tensor> inputs;
  std::exception_ptr error;
};

ReadFiles read_files(std::span<const std::string> paths,
                     const std::function<Tensor(const std::string&)>& read) {
  ReadFiles r;
  try {
    for (const std::string& path : paths) r.inputs.push_back(read(path));
  } catch (...) {
    r.error = std::current_exception();
  }
  return r;
}

// The scores of one run. A run of one image names it in an error: the graph may decode the
// file itself (Inception v3 2015's DecodeJpeg), so a corrupt file fails inside the run.
Tensor run_scores(Executable& exe, const Tensor& feed, std::optional<std::string_view> image) {
  try {
    return exe.run(std::span(&feed, 1)).at(0);
  } catch (const Error& e) {
    if (!image) throw;
    fail(*image, ": ", e.what());
  }
}

}  // namespace

void run_images(Executable& exe, std::span<const std::string> paths,
                const std::function<Tensor(const std::string&)>& read, const std::string& output,
                const std::function<void(size_t, std::span<const float>)>& show) {
  const size_t per_run = exe.splits_batch(kImagesPerRun) ? kImagesPerRun : 1;
  for (size_t first = 0; first < paths.size(); first += per_run) {
    const ReadFiles run =
        read_files(paths.subspan(first, std::min(per_run, paths.size() - first)), read);
    if (!run.inputs.empty()) {
      // One image is fed as read: a JPEG string (classify's Inception v3 2015) has no rows.
      const bool one = run.inputs.size() == 1;
      const Tensor scores =
          run_scores(exe, one ? run.inputs[0] : join_rows(run.inputs, exe.feed_names()[0]),
                     one ? std::optional<std::string_view>(paths[first]) : std::nullopt);
      for (size_t i = 0; i < run.inputs.size(); ++i)
        show(first + i, image_scores(scores, i, run.inputs.size(), output));
    }
    if (run.error) std::rethrow_exception(run.error);
  }
}

namespace {

// A source a run may feed over, with one output: a placeholder, or a constant (Inception v3
// 2015's DecodeJpeg/contents, an empty string, is fed over).
bool is_feedable_source(const Node& node) {
  return node.op == "Placeholder" || node.op == "PlaceholderWithDefault" || node.op == "Const";
}

}  // namespace

void check_tensor_flag(const Graph& graph, const std::string& graph_path, std::string_view flag,
                       const std::string& tensor) {
  const std::string node = tensor.substr(0, tensor.rfind(':'));
  if (graph.find(node) < 0) fail("--", flag, ": no node '", node, "' in ", graph_path);
  Endpoint e;
  try {
    e = graph.endpoint(tensor);  // a malformed index
  } catch (const Error& error) {
    fail("--", flag, ": ", error.what());
  }
  // The op's output count: a source's is 1 whatever its attributes; any other node's is its
  // op's where poet can make the op (an unknown op or a bad attribute is the executor's to name).
  const Node& source = graph.node(e.node);
  int outputs = 1;
  if (!is_feedable_source(source)) {
    try {
      outputs = make_op(source, OpOptions{})->num_outputs();
    } catch (const Error&) {
      return;
    }
  }
  check_output_index("--" + std::string(flag), tensor, source, e.index, outputs);
}

bool takes_image_bytes(const Graph& graph, const std::string& input) {
  const Node& node = graph.node(graph.endpoint(input).node);
  return is_feedable_source(node) && node.attr_type("dtype", DType::kFloat32) == DType::kString;
}

Tensor read_image_bytes(const std::string& path) {
  std::string bytes = read_file(path, size_t{1} << 30);
  if (sniff_image_format(bytes) == ImageFormat::kUnknown)
    fail(path, ": not a JPEG or PNG file, which this graph decodes itself");
  return Tensor::from_string(std::move(bytes));
}

void refuse_image_flags(const Flags& flags, std::span<const std::string_view> names,
                        const std::string& graph_path, const std::string& input) {
  for (std::string_view name : names)
    if (flags.given(name))
      fail("--", name, ": ", graph_path, " decodes, resizes and normalises the JPEG itself (",
           input, "); the flag applies to an image tensor given with --input_layer ",
           "(for Inception v3: Mul:0, where the graph's own Sub and Mul constants are the "
           "defaults)");
}

void read_normalisation_flags(const Flags& flags, ImageInputSpec& spec) {
  auto read = [&](std::string_view name, float& out) {
    if (flags.str(name).empty()) return;
    const double v = flags.number(name);
    if (std::fabs(v) > std::numeric_limits<float>::max())
      fail("--", name, ": ", flags.str(name), " is beyond the range of a float");
    out = static_cast<float>(v);
  };
  read("input_mean", spec.mean);
  read("input_std", spec.std);
  if (spec.std == 0)
    fail("--input_std: ",
         flags.number("input_std") == 0 ? "" : flags.str("input_std") + " is 0 as a float: ",
         "must not be 0");
  if (!std::isfinite(static_cast<float>(1.0 / spec.std)))
    fail("--input_std: ", flags.str("input_std"), " is too small: 1/std is beyond a float");
}

void read_normalisation(const Flags& flags, const Graph& graph, const std::string& input,
                        ImageInputSpec& spec) {
  if (auto norm = trainer::read_graph_normalisation(graph, input)) {
    spec.mean = norm->mean;
    spec.std = norm->std;
  }
  read_normalisation_flags(flags, spec);
}

std::vector<size_t> top_indices(std::span<const float> s, int64_t k) {
  std::vector<size_t> order(s.size());
  std::iota(order.begin(), order.end(), size_t{0});
  size_t n = std::min<size_t>(static_cast<size_t>(std::max<int64_t>(k, 0)), order.size());
  // NaN compares false with everything, which is no ordering to sort by: it ranks last.
  auto key = [&](size_t i) { return std::pair(!std::isnan(s[i]), std::isnan(s[i]) ? 0.f : s[i]); };
  std::partial_sort(
      order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), order.end(),
      [&](size_t a, size_t b) { return key(a) > key(b) || (key(a) == key(b) && a < b); });
  order.resize(n);
  return order;
}

std::string tensor_name(std::string_view name) {
  return name.find(':') == std::string_view::npos ? str_cat(name, ":0") : std::string(name);
}

namespace {

bool is_image_name(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

}  // namespace

void check_labels_fit(std::span<const float> scores, const std::vector<std::string>& labels,
                      const std::string& labels_file, const std::string& output) {
  if (labels.size() != scores.size())
    fail("--labels ", labels_file, ": ", labels.size(), " labels, but '", output, "' gives ",
         scores.size(), " scores");
}

std::vector<std::string> image_files(const std::vector<std::string>& args) {
  std::vector<std::string> files;
  for (const std::string& arg : args) {
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      std::vector<std::string> found;
      for (const auto& entry : std::filesystem::directory_iterator(arg, ec))
        if (entry.is_regular_file(ec) && is_image_name(entry.path()) &&
            !entry.path().filename().string().starts_with("."))
          found.push_back(entry.path().string());
      if (found.empty()) fail(arg, ": no .jpg, .jpeg or .png files in this folder");
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (std::filesystem::is_regular_file(arg, ec)) {
      files.push_back(arg);
    } else if (std::filesystem::exists(arg, ec)) {
      fail(arg, ": not a regular file or a folder");  // a pipe or device: reading it may block
    } else {
      fail(arg, ": no such image file or folder");
    }
  }
  return files;
}

}  // namespace poet::cli
