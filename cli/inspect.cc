// poet inspect: what a graph holds and what running it costs, layer by layer.
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <utility>

#include "cli/common.h"

namespace poet::cli {
namespace {

std::vector<int> sink_nodes(const Graph& graph) {
  std::vector<char> consumed(graph.size(), 0);
  for (const Node& node : graph.nodes()) {
    for (const Endpoint& e : node.inputs) consumed[e.node] = 1;
    for (int c : node.control_inputs) consumed[c] = 1;
  }
  std::vector<int> sinks;
  for (int n = 0; n < graph.size(); ++n) {
    const std::string& op = graph.node(n).op;
    if (!consumed[n] && op != "Const" && op != "NoOp") sinks.push_back(n);
  }
  return sinks;
}

void print_ops(const Graph& graph) {
  std::map<std::string, int> counts;
  for (const Node& node : graph.nodes()) ++counts[node.op];
  std::vector<std::pair<int, std::string>> sorted;
  for (auto& [op, n] : counts) sorted.push_back({-n, op});
  std::sort(sorted.begin(), sorted.end());
  std::printf("\nops (%d nodes):\n", graph.size());
  for (auto& [n, op] : sorted)
    std::printf("  %6d  %s%s\n", -n, op.c_str(), is_known_op(op) ? "" : "   (not supported)");
}

void print_parameters(const Graph& graph) {
  int64_t elements = 0, bytes = 0, tensors = 0;
  for (const Node& node : graph.nodes()) {
    if (node.op != "Const" || !node.has_attr("value")) continue;
    const Tensor& t = node.attr_tensor("value");
    if (t.dtype() == DType::kString) continue;
    elements += t.num_elements();
    bytes += static_cast<int64_t>(t.byte_size());
    ++tensors;
  }
  std::printf("\nparameters: %lld values in %lld constants, %.2f MB\n",
              static_cast<long long>(elements), static_cast<long long>(tensors), bytes / 1e6);
}

// A shape no run could hold: over poet's tensor limit (or too many elements to count). Such
// shapes are still inferred, but Op::flops is not asked about them (a file may declare 2^62
// rows), so a total over them would leave their layers out.
void check_within_limit(const TensorInfo& t, const std::string& what, int64_t batch) {
  if (!over_tensor_limit(t)) return;
  const int64_t bytes = known_bytes(t);
  fail(what, " would be ", dtype_name(t.dtype), " ", t.shape.str(), ", ",
       bytes < 0 ? std::string("too many bytes to count") : str_cat(bytes, " bytes"),
       ", over poet's tensor limit of ", max_tensor_bytes(),
       " bytes (POET_MAX_TENSOR_BYTES): no run could hold it (--batch ", batch, ")");
}

void check_within_limits(const Executable& exe, const std::vector<StepInfo>& steps, int64_t batch) {
  for (size_t i = 0; i < exe.feed_names().size(); ++i)
    check_within_limit(exe.feed_info(static_cast<int>(i)),
                       str_cat("input '", exe.feed_names()[i], "'"), batch);
  for (const StepInfo& s : steps)
    for (const TensorInfo& o : s.outputs)
      check_within_limit(o, str_cat("node '", s.name, "' (", s.op, "): its output"), batch);
}

bool shape_open(const StepInfo& s) {
  return std::ranges::any_of(s.outputs, [](const TensorInfo& o) { return !o.shape.fully_known(); });
}

// "1.600 GFLOPs", or in MFLOPs below 0.01 GFLOP, which would print as 0.000 or nearly.
std::string flops_text(int64_t flops) {
  char text[64];
  if (flops < 10'000'000)
    std::snprintf(text, sizeof text, "%.3f MFLOPs", static_cast<double>(flops) / 1e6);
  else
    std::snprintf(text, sizeof text, "%.3f GFLOPs", static_cast<double>(flops) / 1e9);
  return text;
}

// A layer whose shape the graph leaves open (an input of [?,?,?,3]) has no FLOP count: the total
// then says so rather than leave them out.
void print_total(const std::vector<StepInfo>& steps, int64_t total) {
  const auto first_open = std::ranges::find_if(steps, shape_open);
  if (first_open == steps.end()) {
    std::printf("total: %s per run\n", flops_text(total).c_str());
    return;
  }
  const auto n = static_cast<long long>(std::ranges::count_if(steps, shape_open));
  std::printf(
      "total: unknown: the graph leaves the shapes of %lld layer%s open (the first: '%s' %s), and "
      "their FLOPs with them (%s in the others)\n",
      n, n == 1 ? "" : "s", first_open->name.c_str(), first_open->outputs[0].shape.str().c_str(),
      flops_text(total).c_str());
}

void print_layers(const Executable& exe, int64_t batch) {
  const std::vector<StepInfo> steps = exe.steps();
  check_within_limits(exe, steps, batch);
  std::printf("\nlayers (as run, after constant folding):\n");
  std::printf("  %-58s %-24s %-20s %10s\n", "node", "op", "output", "MFLOPs");
  int64_t total = 0;
  for (const StepInfo& s : steps) {
    std::string shape = s.outputs.empty() ? "" : s.outputs[0].shape.str();
    char mflops[32] = "?";
    if (!shape_open(s)) std::snprintf(mflops, sizeof mflops, "%.2f", s.flops / 1e6);
    std::printf("  %-58s %-24s %-20s %10s\n", s.name.c_str(), s.op.c_str(), shape.c_str(), mflops);
    total += s.flops;
  }
  print_total(steps, total);
  // Open shapes leave the plan to the first run, which knows them.
  if (std::ranges::any_of(steps, shape_open)) {
    std::printf("activation arena: unknown until a run gives the open shapes\n");
    return;
  }
  const Executable::ArenaSizes arena = exe.arena_sizes();
  std::printf("activation arena: %.2f MB (the most alive at once: %.2f MB)\n",
              static_cast<double>(arena.bytes) / 1e6, static_cast<double>(arena.peak_live) / 1e6);
}

}  // namespace

int inspect(Args args) {
  Flags flags("inspect", "GRAPH.pb [--fetch T ...] [--batch N]",
              {{"fetch", "", "tensors to cost (default: the graph's outputs)", false, true},
               {"batch", "1", "batch size assumed for inputs whose batch is unknown"}},
              args);
  if (flags.help_requested()) return 0;
  // As bench's: a batch beyond it only makes shapes no run could hold.
  const int64_t batch = flags.integer("batch");
  if (batch < 1 || batch > 4096) fail("--batch: expected 1..4096, got ", batch);
  if (flags.positional().size() != 1)
    fail("expected one graph file, got ", flags.positional().size());
  const std::string path = flags.positional()[0];
  Graph graph = load_graph(path);
  for (const std::string& f : flags.all("fetch")) check_tensor_flag(graph, path, "fetch", f);
  std::printf("graph: %s\n", path.c_str());
  print_ops(graph);

  std::printf("\ninputs:\n");
  std::vector<std::string> feeds;
  ExecOptions options;
  options.threads = 1;
  for (const Node& node : graph.nodes()) {
    if (node.op != "Placeholder") continue;
    PartialShape shape = node.attr_shape("shape", PartialShape::unknown());
    std::printf("  %s  %s %s\n", node.name.c_str(),
                std::string(dtype_name(node.attr_type("dtype"))).c_str(), shape.str().c_str());
    if (shape.known_rank && shape.rank() > 0 && shape.dims[0] < 0) shape.dims[0] = batch;
    feeds.push_back(node.name + ":0");
    options.feed_shapes[feeds.back()] = shape;
  }
  if (int n = graph.find("DecodeJpeg/contents"); n >= 0)
    std::printf("  %s  string (JPEG bytes; Inception v3 2015 layout)\n",
                graph.node(n).name.c_str());

  std::vector<std::string> fetches = flags.all("fetch");
  std::printf("\noutputs:\n");
  for (int n : sink_nodes(graph)) {
    std::printf("  %s (%s)\n", graph.node(n).name.c_str(), graph.node(n).op.c_str());
    // A NoOp sink (an "init" node a graph kept) has no tensor to cost.
    if (!flags.given("fetch") && graph.node(n).op != "NoOp")
      fetches.push_back(graph.node(n).name + ":0");
  }
  for (std::string& f : fetches) f = tensor_name(f);
  print_parameters(graph);
  if (fetches.empty()) {
    std::printf("\nno tensor to cost: every output is a NoOp\n");
    return 0;
  }
  Executable exe(std::move(graph), feeds, fetches, options);
  print_layers(exe, batch);
  return 0;
}

}  // namespace poet::cli
