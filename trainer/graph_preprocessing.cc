#include "trainer/graph_preprocessing.h"

#include <cmath>
#include <limits>

namespace poet::trainer {
namespace {

// The value of a float32 scalar (or one-element) Const behind `e`, if it is one.
std::optional<float> scalar_const(const Graph& graph, Endpoint e) {
  const Node& node = graph.node(e.node);
  if (node.op != "Const" || e.index != 0 || !node.has_attr("value")) return std::nullopt;
  const Tensor& t = node.attr_tensor("value");
  if (t.dtype() != DType::kFloat32 || t.num_elements() != 1) return std::nullopt;
  return t.data<float>()[0];
}

// (other input, constant) of a binary node with one scalar Const operand.
std::optional<std::pair<Endpoint, float>> split_const(const Graph& graph, const Node& node,
                                                      bool commutes) {
  if (node.inputs.size() != 2) return std::nullopt;
  if (auto c = scalar_const(graph, node.inputs[1])) return std::pair{node.inputs[0], *c};
  if (commutes)
    if (auto c = scalar_const(graph, node.inputs[0])) return std::pair{node.inputs[1], *c};
  return std::nullopt;
}

}  // namespace

std::optional<GraphNormalisation> read_graph_normalisation(const Graph& graph,
                                                           const std::string& input_tensor) {
  const int index = graph.find(input_tensor.substr(0, input_tensor.rfind(':')));
  if (index < 0 || !input_tensor.ends_with(":0")) return std::nullopt;
  const Node& mul = graph.node(index);
  if (mul.op != "Mul") return std::nullopt;
  auto m = split_const(graph, mul, true);
  if (!m || m->first.index != 0) return std::nullopt;
  const Node& sub = graph.node(m->first.node);
  if (sub.op != "Sub") return std::nullopt;
  auto s = split_const(graph, sub, false);
  if (!s || !std::isfinite(s->second) || !std::isfinite(m->second) || m->second == 0)
    return std::nullopt;
  return GraphNormalisation{.mean = s->second, .scale = m->second, .std = std_for_scale(m->second)};
}

float std_for_scale(float scale) {
  const float guess = static_cast<float>(1.0 / scale);
  if (static_cast<float>(1.0 / guess) == scale) return guess;
  float best = guess;
  double best_error = std::numeric_limits<double>::infinity();
  float candidate = guess;
  // 1/(1/x) is within a few ulps of x; look at the neighbours on both sides.
  for (int i = 0; i < 4; ++i)
    candidate = std::nextafter(candidate, -std::numeric_limits<float>::infinity());
  for (int i = 0; i < 9; ++i) {
    double error = std::fabs(static_cast<double>(static_cast<float>(1.0 / candidate)) - scale);
    if (error < best_error) best = candidate, best_error = error;
    candidate = std::nextafter(candidate, std::numeric_limits<float>::infinity());
  }
  return best;
}

}  // namespace poet::trainer
