// Shared by the fuzz targets: bounds that keep one input cheap, and the load-time work a
// user's `poet inspect` does on an imported graph.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/executor.h"
#include "engine/graph.h"
#include "engine/tensor.h"

namespace poet::fuzz {

// A tensor cap far below the default 4 GiB: libFuzzer's -rss_limit_mb=2048 must catch only
// real leaks and unbounded allocations, not legitimately capped ones.
inline void init() { set_max_tensor_bytes(std::size_t{16} << 20); }

inline std::string_view as_bytes(const uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Builds an Executable for each sink node (nothing consumes it), feeding every Placeholder,
// as `poet inspect` does: load-time shape inference and constant folding run on everything
// the file claims. Two threads, so that loading also plans the parallel branches
// (engine/branches.h) of whatever forks and joins the file holds. poet::Error is the expected
// outcome for bad graphs; anything else (another exception, a sanitizer report, a timeout) is
// a bug.
inline void compile_sinks(const Graph& graph) {
  std::vector<char> consumed(graph.size(), 0);
  for (const Node& node : graph.nodes()) {
    for (const Endpoint& e : node.inputs) consumed[e.node] = 1;
    for (int c : node.control_inputs) consumed[c] = 1;
  }
  ExecOptions options;
  options.threads = 2;
  std::vector<std::string> feeds;
  for (const Node& node : graph.nodes()) {
    if (node.op != "Placeholder") continue;
    feeds.push_back(node.name + ":0");
    try {
      PartialShape shape = node.has_attr("shape") ? node.attr_shape("shape") : PartialShape();
      if (shape.known_rank && shape.rank() > 0 && shape.dims[0] < 0) shape.dims[0] = 1;
      options.feed_shapes[feeds.back()] = shape;
    } catch (const Error&) {
    }
  }
  int compiled = 0;
  for (int n = 0; n < graph.size() && compiled < 16; ++n) {
    if (consumed[n]) continue;
    ++compiled;
    try {
      Executable exe(graph, feeds, {graph.node(n).name + ":0"}, options);
      exe.steps();
    } catch (const Error&) {
    }
  }
}

}  // namespace poet::fuzz
