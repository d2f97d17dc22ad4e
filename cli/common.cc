#include "cli/common.h"

#include "importers/tensorflow/graphdef.h"
#include "importers/tfjs/tfjs.h"

namespace poet::cli {

Graph load_graph(const std::filesystem::path& path) {
  if (path.extension() == ".json") return tfjs::load_model(path);
  return tf::load_graphdef(path);
}

std::vector<FlagSpec> exec_flag_specs() {
  return {
      {"backend", "native", "kernels to run: native (SIMD), onednn or ref (plain reference)"},
      {"threads", "0", "worker threads; 0 uses every core"},
      {"check_numerics", "false", "keep the graph's CheckNumerics checks", true},
  };
}

ExecOptions exec_options(const Flags& flags) {
  ExecOptions o;
  std::string backend = flags.str("backend");
  if (backend == "native") {
    o.backend = Backend::kNative;
  } else if (backend == "onednn") {
    o.backend = Backend::kOneDnn;
  } else if (backend == "ref") {
    o.backend = Backend::kReference;
  } else {
    fail("--backend: expected native, onednn or ref, got '", backend, "'");
  }
  int64_t threads = flags.integer("threads");
  if (threads < 0 || threads > 1024) fail("--threads: expected 0..1024, got ", threads);
  o.threads = static_cast<int>(threads);
  o.check_numerics = flags.boolean("check_numerics");
  return o;
}

int64_t declared_size(const Graph& graph, const std::string& input, int axis) {
  const Node& node = graph.node(graph.endpoint(input).node);
  if (node.op != "Placeholder" || !node.has_attr("shape")) return 0;
  PartialShape shape = node.attr_shape("shape");
  return shape.known_rank && shape.rank() == 4 && shape.dim(axis) > 0 ? shape.dim(axis) : 0;
}

std::string tensor_name(std::string_view name) {
  return name.find(':') == std::string_view::npos ? str_cat(name, ":0") : std::string(name);
}

}  // namespace poet::cli
