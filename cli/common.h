// Helpers shared by the subcommands.
#pragma once

#include <filesystem>
#include <functional>
#include <span>
#include <string>

#include "cli/flags.h"
#include "engine/executor.h"
#include "engine/graph.h"
#include "engine/image_input.h"

namespace poet::cli {

// Whether load_graph reads `path` as a TF.js layers model: its name ends in .json.
bool is_tfjs_model(const std::filesystem::path& path);

// Loads a TensorFlow GraphDef (.pb, .pbtxt) or a TF.js layers model (model.json).
Graph load_graph(const std::filesystem::path& path);
// The files load_graph reads for `path` (a TF.js model's weight shards too), which no output of
// the command may replace.
std::vector<std::filesystem::path> graph_files(const std::filesystem::path& path);

// Flags every command that runs a graph accepts: --backend, --backend_op, --threads,
// --batch_split, --layer_split, --branches, --check_numerics, --winograd, --fuse_depthwise.
std::vector<FlagSpec> exec_flag_specs();
ExecOptions exec_options(const Flags& flags);

// The shape the graph gives the tensor `input` when fed: a Placeholder's declared one, or what
// shape inference gives another tensor (Inception v3's Mul:0, after its ResizeBilinear to
// 299x299), found without building anything.
PartialShape declared_shape(const Graph& graph, const std::string& input, ExecOptions options);

// The size along `axis` (1: height, 2: width) of an image batch [N, H, W, 3] of `shape`, or 0
// when the shape does not say.
int64_t image_size(const PartialShape& shape, int axis);

// Image i's float scores in `scores`, fetched from `output` for a run of `images` images
// ([images, classes], or [classes] for one); anything else is an Error naming the tensor.
std::span<const float> image_scores(const Tensor& scores, size_t i, size_t images,
                                    const std::string& output);

// Images fed per run where the executable takes a batch image by image across its threads.
constexpr size_t kImagesPerRun = 8;

// poet label's and classify's loop: runs `exe`, built for one image, on the files at `paths`,
// fed read(path), and calls show(i, scores) for each in order. Where the executable splits a
// batch over its threads (ExecOptions::batch_split) it runs kImagesPerRun images at a time,
// each image on one thread, which keeps the threads apart (Inception v3 on 2 threads: 1.15x
// the images/s of one image split over them); else one at a time. A file that cannot be read
// stops the loop with its error, after the files before it are shown. (Reading a run's files
// on another thread while the one before runs was no faster on 2 cores, and held 15-20 MB
// more.)
void run_images(Executable& exe, std::span<const std::string> paths,
                const std::function<Tensor(const std::string&)>& read, const std::string& output,
                const std::function<void(size_t, std::span<const float>)>& show);

// Fails unless `graph` (read from `graph_path`) has the node of `tensor`, the value of --`flag`
// (or its default): the error names the flag and the file, before any image is read.
void check_tensor_flag(const Graph& graph, const std::string& graph_path, std::string_view flag,
                       const std::string& tensor);

// Whether `input` is a string the graph decodes itself (Inception v3 2015's DecodeJpeg/contents,
// a Const, kept by graphs retrained from it; a Placeholder in graphs other tools write): it is fed
// a file's bytes (JPEG or PNG: TensorFlow's DecodeJpeg and DecodePng take either), and the image
// flags, whose work the graph does, are refused.
bool takes_image_bytes(const Graph& graph, const std::string& input);
Tensor read_image_bytes(const std::string& path);
void refuse_image_flags(const Flags& flags, std::span<const std::string_view> names,
                        const std::string& graph_path, const std::string& input);

// --input_mean and --input_std into `spec`, where they have a value. Each must fit a float, and
// 1/std must be a finite float: the pixels are multiplied by it, as retrain.py does.
void read_normalisation_flags(const Flags& flags, ImageInputSpec& spec);

// The normalisation of images fed at `input`: `spec`'s defaults, replaced by the graph's own
// Sub/Mul constants when `input` is fed right after them (Inception v3's Mul:0, where a graph
// converted from TF.js holds 0 and 1/255), then by the flags (read_normalisation_flags).
void read_normalisation(const Flags& flags, const Graph& graph, const std::string& input,
                        ImageInputSpec& spec);

// The indices of the `k` highest scores (fewer if there are fewer), best first; equal scores
// in index order and NaNs last, so the output is deterministic.
std::vector<size_t> top_indices(std::span<const float> scores, int64_t k);

// A --labels file must name every score: a file for another graph printed blank or wrong
// names. The error names the file and `output`, before anything of the image is printed.
void check_labels_fit(std::span<const float> scores, const std::vector<std::string>& labels,
                      const std::string& labels_file, const std::string& output);

// The image files `args` name, in order: a file as given, a folder as its .jpg, .jpeg and .png
// files (any case; hidden ones skipped), sorted by name. Anything else, or a folder without
// images, is an Error naming it. poet classify and label check these before loading the graph.
std::vector<std::string> image_files(const std::vector<std::string>& args);

// "input" -> "input:0"; "input:1" unchanged.
std::string tensor_name(std::string_view name);

}  // namespace poet::cli
