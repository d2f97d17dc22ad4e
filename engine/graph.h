// poet's op graph: TensorFlow-style nodes (name, op type, data and control inputs, typed
// attributes). Importers build it, optimiser passes rewrite it, the executor runs it. Const
// nodes hold their value in the "value" attribute, as in a GraphDef.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "engine/tensor.h"

namespace poet {

// A shape some of whose dimensions (-1), or whose rank, may be unknown before run time.
struct PartialShape {
  bool known_rank = false;
  std::vector<int64_t> dims;

  PartialShape() = default;
  PartialShape(Shape known) : known_rank(true), dims(std::move(known)) {}  // NOLINT: implicit
  static PartialShape unknown() { return {}; }

  int rank() const { return static_cast<int>(dims.size()); }
  bool fully_known() const;
  // The dimension, or -1 when unknown (also when the rank is unknown).
  int64_t dim(int i) const;
  std::string str() const;
  // Whether some shape could be both: ranks and known dimensions agree where both are known.
  bool compatible_with(const PartialShape& other) const;
  // Checks the shape is fully known and returns it.
  const Shape& known() const;
};

using AttrValue = std::variant<int64_t, float, bool, std::string, DType, PartialShape, Tensor,
                               std::vector<int64_t>, std::vector<float>, std::vector<std::string>,
                               std::vector<DType>>;

// Output `index` of node `node`.
struct Endpoint {
  int node = -1;
  int index = 0;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
  friend auto operator<=>(const Endpoint&, const Endpoint&) = default;
};

struct Node {
  std::string name;
  std::string op;
  std::vector<Endpoint> inputs;
  std::vector<int> control_inputs;
  std::map<std::string, AttrValue> attrs;
  // Set by an importer when it could not read part of this node (an unsupported dtype, say).
  // It is reported only if the node is needed, as TensorFlow would.
  std::string import_error;

  bool has_attr(std::string_view key) const { return attrs.find(std::string(key)) != attrs.end(); }
  // Typed attribute access; a missing or mistyped attribute is an Error naming node and key.
  int64_t attr_int(std::string_view key) const;
  int64_t attr_int(std::string_view key, int64_t fallback) const;
  float attr_float(std::string_view key, float fallback) const;
  bool attr_bool(std::string_view key, bool fallback) const;
  const std::string& attr_string(std::string_view key) const;
  std::string attr_string(std::string_view key, std::string_view fallback) const;
  DType attr_type(std::string_view key) const;
  DType attr_type(std::string_view key, DType fallback) const;
  const Tensor& attr_tensor(std::string_view key) const;
  PartialShape attr_shape(std::string_view key) const;
  PartialShape attr_shape(std::string_view key, PartialShape fallback) const;
  std::vector<int64_t> attr_ints(std::string_view key) const;
  std::vector<int64_t> attr_ints(std::string_view key, std::vector<int64_t> fallback) const;

  // "node 'conv/Conv2D' (Conv2D)", the prefix of every error about this node.
  std::string describe() const;

 private:
  const AttrValue& attr(std::string_view key) const;
  template <class T>
  const T& attr_as(std::string_view key, std::string_view type_name) const;
};

// `base`, or when `taken` says a node has that name, the first of base_1, base_2, ... that none
// has (TensorFlow's way of making a name unique): for the nodes a rewrite adds, whose names a
// graph's own nodes may hold already.
std::string unused_name(const std::string& base,
                        const std::function<bool(const std::string&)>& taken);

class Graph {
 public:
  // Adds a node; its name must be new. Returns its index.
  int add(Node node);
  int size() const { return static_cast<int>(nodes_.size()); }
  const Node& node(int i) const { return nodes_.at(i); }
  Node& node(int i) { return nodes_.at(i); }
  std::span<const Node> nodes() const { return nodes_; }

  // Gives node i a new name, which must be free.
  void rename(int i, std::string name);

  // Index of the node called `name`, or -1.
  int find(std::string_view name) const;
  // Parses "name" or "name:k" into an Endpoint; an unknown node name is an Error.
  Endpoint endpoint(std::string_view spec) const;
  std::string endpoint_name(Endpoint e) const;

  // Nodes, inputs before their consumers: all of them, or those with a non-zero `include`
  // flag. A cycle is an Error naming its nodes.
  std::vector<int> topological_order(std::span<const char> include = {}) const;

  // The nodes needed to compute `fetches` given `feeds`, in topological order: a fed endpoint
  // stops the walk, so nothing upstream of a feed is needed unless another path uses it. A
  // control input on a fed Placeholder is met by its feed.
  // `needed_by`, when given, receives for each node index the fetch that first pulled it in.
  std::vector<int> needed_nodes(std::span<const Endpoint> fetches, std::span<const Endpoint> feeds,
                                std::vector<int>* needed_by = nullptr) const;

  // The GraphDef version (VersionDef's producer) of the file the graph was read from, 0 for a
  // file without one; unset for a graph built otherwise (a TF.js model). TensorFlow checks a
  // graph's ops against it: Inception v3 2015's BatchNormWithGlobalNormalization loads only
  // below version 9, so a graph written back must not claim a later one.
  std::optional<int> producer() const { return producer_; }
  void set_producer(std::optional<int> producer) { producer_ = producer; }

 private:
  std::vector<Node> nodes_;
  std::optional<int> producer_;
  std::unordered_map<std::string, int> index_;
};

}  // namespace poet
