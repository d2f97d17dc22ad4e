// Helpers shared by the subcommands.
#pragma once

#include <filesystem>
#include <span>
#include <string>

#include "cli/flags.h"
#include "engine/executor.h"
#include "engine/graph.h"

namespace poet::cli {

// Loads a TensorFlow GraphDef (.pb, .pbtxt) or a TF.js layers model (model.json).
Graph load_graph(const std::filesystem::path& path);

// Flags every command that runs a graph accepts: --backend, --backend_op, --threads,
// --batch_split, --check_numerics, --winograd.
std::vector<FlagSpec> exec_flag_specs();
ExecOptions exec_options(const Flags& flags);

// The size along `axis` (1: height, 2: width) that the Placeholder behind `input` declares
// for an image batch [N, H, W, 3], or 0 when it does not say.
int64_t declared_size(const Graph& graph, const std::string& input, int axis);

// The shape the graph gives the tensor `input` when fed (a Placeholder's declared one),
// inferred without building anything.
PartialShape declared_shape(const Graph& graph, const std::string& input,
                            const ExecOptions& options);

// The float scores of one image fetched from `output` (a [1, classes] or [classes] tensor);
// anything else is an Error naming the tensor.
std::span<const float> image_scores(const Tensor& scores, const std::string& output);

// The indices of the `k` highest scores (fewer if there are fewer), best first; equal scores
// in index order so the output is deterministic.
std::vector<size_t> top_indices(std::span<const float> scores, int64_t k);

// "input" -> "input:0"; "input:1" unchanged.
std::string tensor_name(std::string_view name);

}  // namespace poet::cli
