#include "trainer/export_graph.h"

#include <algorithm>
#include <cctype>
#include <unordered_set>

#include "engine/error.h"
#include "importers/tensorflow/graphdef.h"

namespace poet::trainer {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// TensorFlow's Graph.unique_name for a scope opened in the imported graph: names compare
// case-insensitively, and a taken name gets "_1", "_2", ... appended.
std::string unique_scope(const Graph& graph, std::string_view base) {
  std::unordered_set<std::string> used;
  for (const Node& node : graph.nodes()) used.insert(lower(node.name));
  std::string name(base);
  for (int i = 1; used.count(lower(name)); ++i) name = str_cat(base, "_", i);
  return name;
}

// The new layer's input, in TensorFlow's unique "input" scope.
std::string placeholder_name(const Graph& original) {
  return unique_scope(original, "input") + "/BottleneckInputPlaceholder";
}

void check_layer(const Tensor& weights, const Tensor& biases, int64_t bottleneck_size) {
  if (weights.dtype() != DType::kFloat32 || weights.rank() != 2 ||
      weights.dim(0) != bottleneck_size)
    fail("retrained graph: weights must be float32 [", bottleneck_size, ", classes], got ",
         dtype_name(weights.dtype()), " ", shape_string(weights.shape()));
  if (biases.dtype() != DType::kFloat32 || biases.rank() != 1 || biases.dim(0) != weights.dim(1))
    fail("retrained graph: biases must be float32 [", weights.dim(1), "], got ",
         dtype_name(biases.dtype()), " ", shape_string(biases.shape()));
}

// The nodes `bottleneck` needs, copied in their original order with inputs renumbered. That
// order need not be topological (a GraphDef may name an input defined further on: the
// quantized MobileNet does), so the inputs are renumbered once every node has its new index.
Graph copy_needed(const Graph& original, Endpoint bottleneck) {
  std::vector<int> needed = original.needed_nodes(std::span(&bottleneck, 1), {});
  std::sort(needed.begin(), needed.end());
  std::vector<int> new_index(original.size(), -1);
  for (size_t i = 0; i < needed.size(); ++i) new_index[needed[i]] = static_cast<int>(i);
  Graph graph;
  graph.set_producer(original.producer());
  for (int n : needed) {
    Node node = original.node(n);
    if (!node.import_error.empty())
      fail("retrained graph: ", node.describe(), " cannot be written back: ", node.import_error);
    for (Endpoint& in : node.inputs) in.node = new_index[in.node];
    for (int& c : node.control_inputs) c = new_index[c];
    graph.add(std::move(node));
  }
  return graph;
}

Node make_node(std::string name, std::string op, std::vector<Endpoint> inputs,
               std::map<std::string, AttrValue> attrs) {
  Node node;
  node.name = std::move(name);
  node.op = std::move(op);
  node.inputs = std::move(inputs);
  node.attrs = std::move(attrs);
  return node;
}

// The new layer's nodes, named as retrain.py's name scopes name them.
constexpr const char* kWeights = "final_training_ops/weights/final_weights";
constexpr const char* kBiases = "final_training_ops/biases/final_biases";
constexpr const char* kMatMul = "final_training_ops/Wx_plus_b/MatMul";
constexpr const char* kAdd = "final_training_ops/Wx_plus_b/add";

// Every name the export adds but the final one.
std::vector<std::string> layer_names(const Graph& original) {
  return {placeholder_name(original),
          kWeights,
          str_cat(kWeights, "/read"),
          kBiases,
          str_cat(kBiases, "/read"),
          kMatMul,
          kAdd};
}

// TensorFlow 1.x's _VALID_OP_NAME_REGEX: [A-Za-z0-9.][A-Za-z0-9_.\-/]*
bool is_node_name(std::string_view name) {
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  auto allowed = [&](char c) {
    return alnum(c) || std::string_view("_.-/").find(c) != std::string_view::npos;
  };
  return !name.empty() && (alnum(name[0]) || name[0] == '.') &&
         std::all_of(name.begin(), name.end(), allowed);
}

// A Const and its "/read" Identity, as convert_variables_to_constants leaves a Variable.
Endpoint add_frozen_variable(Graph& graph, const std::string& name, const Tensor& value) {
  int var = graph.add(
      make_node(name, "Const", {}, {{"dtype", DType::kFloat32}, {"value", value.clone()}}));
  int read = graph.add(
      make_node(name + "/read", "Identity", {{var, 0}},
                {{"T", DType::kFloat32}, {"_class", std::vector<std::string>{"loc:@" + name}}}));
  return {read, 0};
}

}  // namespace

void check_retrained_names(const Graph& original, const RetrainedGraphSpec& spec) {
  const std::string& name = spec.final_tensor_name;
  if (!is_node_name(name))
    fail("--final_tensor_name '", name,
         "': not a TensorFlow node name (a letter, digit or '.', then also '_', '-' and '/')");
  const std::vector<std::string> added = layer_names(original);
  if (std::find(added.begin(), added.end(), name) != added.end())
    fail("--final_tensor_name ", name, ": a name of the new layer's own nodes");
  Endpoint bottleneck = original.endpoint(spec.bottleneck_tensor);
  for (int n : original.needed_nodes(std::span(&bottleneck, 1), {})) {
    const std::string& kept = original.node(n).name;
    if (kept == name) fail("--final_tensor_name ", name, ": the graph already has that node");
    if (std::find(added.begin(), added.end(), kept) != added.end())
      fail("the bottleneck ", spec.bottleneck_tensor, " keeps the graph's node ", kept,
           ", which the new layer would add again; train on a tensor before that layer");
  }
}

Graph build_retrained_graph(const Graph& original, const RetrainedGraphSpec& spec,
                            const Tensor& weights, const Tensor& biases) {
  Endpoint bottleneck = original.endpoint(spec.bottleneck_tensor);
  Endpoint input = original.endpoint(spec.input_tensor);
  check_layer(weights, biases, weights.rank() == 2 ? weights.dim(0) : -1);
  check_retrained_names(original, spec);
  Graph graph = copy_needed(original, bottleneck);
  const std::string& input_name = original.node(input.node).name;
  if (graph.find(input_name) < 0)
    fail("retrained graph: the bottleneck ", spec.bottleneck_tensor,
         " does not depend on the input ", spec.input_tensor);
  Endpoint kept_bottleneck{graph.find(original.node(bottleneck.node).name), bottleneck.index};

  int placeholder = graph.add(
      make_node(placeholder_name(original), "PlaceholderWithDefault", {kept_bottleneck},
                {{"dtype", DType::kFloat32}, {"shape", PartialShape(Shape{-1, weights.dim(0)})}}));
  Endpoint w = add_frozen_variable(graph, kWeights, weights);
  Endpoint b = add_frozen_variable(graph, kBiases, biases);
  int matmul = graph.add(
      make_node(kMatMul, "MatMul", {{placeholder, 0}, w},
                {{"T", DType::kFloat32}, {"transpose_a", false}, {"transpose_b", false}}));
  int add = graph.add(make_node(kAdd, "Add", {{matmul, 0}, b}, {{"T", DType::kFloat32}}));
  graph.add(make_node(spec.final_tensor_name, "Softmax", {{add, 0}}, {{"T", DType::kFloat32}}));
  return graph;
}

std::string retrained_graph_summary(const Graph& original, const RetrainedGraphSpec& spec,
                                    int64_t bottleneck_size, int64_t classes) {
  constexpr size_t kMaxShownTensorBytes = 1024;  // TensorBoard's limit_attr_size
  const Graph graph =
      build_retrained_graph(original, spec, Tensor(DType::kFloat32, {bottleneck_size, classes}),
                            Tensor(DType::kFloat32, {classes}));
  return tf::export_graphdef(graph, kMaxShownTensorBytes).SerializeAsString();
}

void write_retrained_graph(const Graph& original, const RetrainedGraphSpec& spec,
                           const Tensor& weights, const Tensor& biases,
                           const std::filesystem::path& output) {
  tf::write_graphdef(build_retrained_graph(original, spec, weights, biases), output);
}

}  // namespace poet::trainer
