// Keras layer -> TensorFlow ops. Each converter adds the layer's nodes, named
// "<layer>/<Op>", and returns its output; the last node is then renamed to the layer's name,
// so "flatten_1:0" is the Flatten layer's output.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/op.h"
#include "importers/tfjs/json_util.h"

namespace poet::tfjs {

// The load-time shapes of a graph that grows in topological order (each layer appends its
// nodes after their inputs): every node is inferred once, when a later layer first asks, with
// the reference ops and without folding, so asking never copies, folds or packs a weight.
class ShapeInference {
 public:
  explicit ShapeInference(const Graph& graph) : graph_(graph) {}
  PartialShape shape_of(Endpoint e);

 private:
  const Graph& graph_;
  std::vector<std::vector<TensorInfo>> infos_;  // per node, for nodes [0, infos_.size())
};

class LayerContext {
 public:
  LayerContext(Graph& graph, ShapeInference& shapes, std::map<std::string, Tensor>& weights,
               std::string name, const Json& config, std::string where)
      : graph_(graph),
        shapes_(shapes),
        weights_(weights),
        name_(std::move(name)),
        config_(config),
        where_(std::move(where)) {}

  std::vector<Endpoint> inputs;

  const std::string& name() const { return name_; }
  const std::string& where() const { return where_; }
  Graph& graph() { return graph_; }

  template <class T>
  T config(std::string_view key) const {
    return get<T>(config_, key, where_);
  }
  template <class T>
  T config_or(std::string_view key, T fallback) const {
    return get_or<T>(config_, key, std::move(fallback), where_);
  }
  bool has_config(std::string_view key) const {
    return config_.contains(key) && !config_[std::string(key)].is_null();
  }

  // The layer's weight "<layer>/<key>" as a Const node (taken from the manifest); its shape
  // must match `shape` where that is known (-1 matches any dimension).
  Endpoint weight(std::string_view key, const PartialShape& shape = PartialShape::unknown());
  Endpoint constant(std::string_view suffix, Tensor value);
  // Adds "<layer>/<suffix>" computing `op` of `inputs`; attrs get T = float32.
  Endpoint op(std::string_view suffix, std::string_view op, std::vector<Endpoint> inputs,
              std::map<std::string, AttrValue> attrs = {});
  // Applies a Keras activation name (linear, relu, relu6, softmax).
  Endpoint activation(Endpoint x, const std::string& activation);
  // The inferred shape of an endpoint (dims may be -1); an op's inference error is the layer's.
  PartialShape shape_of(Endpoint e);

  template <class... Args>
  [[noreturn]] void fail(Args&&... args) const {
    poet::fail(where_, ": ", std::forward<Args>(args)...);
  }

 private:
  Graph& graph_;
  ShapeInference& shapes_;
  std::map<std::string, Tensor>& weights_;
  std::string name_;
  const Json& config_;
  std::string where_;
};

// model.json's model config in the functional form (its "layers", each with its "name" and
// "inbound_nodes", "input_layers", "output_layers"); a Sequential model is put in that form.
// Errors for other formats and model classes name `where`.
Json model_config(const Json& model, const std::string& where);

// load_weights (tfjs.h) for an already parsed model.json.
std::map<std::string, Tensor> load_weights(const Json& model,
                                           const std::filesystem::path& model_json);

// Converts one layer; the returned endpoint is its output, renamed to the layer's name.
Endpoint convert_layer(const std::string& class_name, LayerContext& ctx);

}  // namespace poet::tfjs
