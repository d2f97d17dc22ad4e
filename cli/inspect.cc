// poet inspect: what a graph holds and what running it costs, layer by layer.
#include <algorithm>
#include <cstdio>
#include <map>
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

void print_layers(const Executable& exe) {
  std::printf("\nlayers (as run, after constant folding):\n");
  std::printf("  %-58s %-24s %-20s %10s\n", "node", "op", "output", "MFLOPs");
  int64_t total = 0;
  for (const StepInfo& s : exe.steps()) {
    std::string shape = s.outputs.empty() ? "" : s.outputs[0].shape.str();
    std::printf("  %-58s %-24s %-20s %10.2f\n", s.name.c_str(), s.op.c_str(), shape.c_str(),
                s.flops / 1e6);
    total += s.flops;
  }
  std::printf("total: %.3f GFLOPs per run\n", total / 1e9);
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
  if (flags.positional().size() != 1)
    fail("expected one graph file, got ", flags.positional().size());
  const std::string path = flags.positional()[0];
  Graph graph = load_graph(path);
  std::printf("graph: %s\n", path.c_str());
  print_ops(graph);

  std::printf("\ninputs:\n");
  std::vector<std::string> feeds;
  ExecOptions options;
  options.threads = 1;
  for (const Node& node : graph.nodes()) {
    if (node.op != "Placeholder") continue;
    PartialShape shape = node.has_attr("shape") ? node.attr_shape("shape") : PartialShape();
    std::printf("  %s  %s %s\n", node.name.c_str(),
                std::string(dtype_name(node.attr_type("dtype"))).c_str(), shape.str().c_str());
    if (shape.known_rank && shape.rank() > 0 && shape.dims[0] < 0)
      shape.dims[0] = flags.integer("batch");
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
  print_layers(exe);
  return 0;
}

}  // namespace poet::cli
