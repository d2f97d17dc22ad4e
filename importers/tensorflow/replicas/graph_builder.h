// Building TensorFlow GraphDefs node by node with the attributes TensorFlow itself writes, and
// the weight sources that fill the replicas' Const nodes.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "engine/tensor.h"
#include "importers/tensorflow/proto/graph.pb.h"

namespace poet::tf::replicas {

// What a weight tensor is for; a seeded source draws each kind from its own distribution, a
// converter from another framework maps its layers onto the requested names.
enum class WeightRole {
  kConvFilter,       // HWIO
  kDepthwiseFilter,  // [kh, kw, in_c, multiplier]
  kDenseWeights,     // [in, out]
  kBias,
  kBnGamma,
  kBnBeta,
  kBnMean,
  kBnVariance,
};

struct WeightRequest {
  std::string_view name;  // the Const node's name, e.g. "mixed_4/tower/conv_1/conv2d_params"
  WeightRole role;
  const Shape& shape;
};

// Returns a float32 tensor of exactly request.shape. The builders check both and fail naming
// the tensor otherwise.
using WeightSource = std::function<Tensor(const WeightRequest&)>;

// He-initialised filters and batch-norm statistics that keep activations near unit variance,
// from a fixed-seed std::mt19937 and poet's own distribution arithmetic, so the tensors are
// bit-identical on every platform and standard library. Each tensor depends only on the seed
// and its name, not on the order of requests.
WeightSource seeded_weights(uint32_t seed);

// Appends nodes to a GraphDef; node names must be unique.
class GraphBuilder {
 public:
  // A node with the given inputs ("name", "name:1", "^control").
  tensorflow::NodeDef& add(std::string_view name, std::string_view op,
                           std::initializer_list<std::string_view> inputs = {});
  tensorflow::NodeDef& add(std::string_view name, std::string_view op,
                           const std::vector<std::string>& inputs);

  // A Const node holding `value`. Scalars go in the typed value field (float_val, int_val,
  // string_val) and everything else in tensor_content, as TensorFlow writes them.
  tensorflow::NodeDef& constant(std::string_view name, const Tensor& value);

  tensorflow::GraphDef release() { return std::move(graph_def_); }

 private:
  tensorflow::GraphDef graph_def_;
  std::unordered_set<std::string> names_;
};

// Attribute setters.
void set_type(tensorflow::NodeDef& node, const std::string& key, tensorflow::DataType type);
void set_s(tensorflow::NodeDef& node, const std::string& key, std::string_view value);
void set_i(tensorflow::NodeDef& node, const std::string& key, int64_t value);
void set_f(tensorflow::NodeDef& node, const std::string& key, float value);
void set_b(tensorflow::NodeDef& node, const std::string& key, bool value);
void set_ints(tensorflow::NodeDef& node, const std::string& key, std::vector<int64_t> values);
void set_strings(tensorflow::NodeDef& node, const std::string& key,
                 std::vector<std::string> values);
void set_shape(tensorflow::NodeDef& node, const std::string& key, const Shape& shape);

// Asks `source` for a tensor and checks it is float32 of the requested shape.
Tensor request_weight(const WeightSource& source, std::string_view name, WeightRole role,
                      const Shape& shape);

// One layer of a replica, for documentation, tests and FLOP counts.
struct LayerInfo {
  std::string name;  // the node whose output this is (the Relu of a conv scope, a pool, a join)
  std::string op;    // "Conv2D", "DepthwiseConv2dNative", "MaxPool", "AvgPool", "Concat", ...
  int64_t kernel_h = 0, kernel_w = 0, stride = 1;
  std::string padding;  // "SAME" / "VALID" / ""
  Shape output;
  int64_t flops = 0;  // multiply-add counted as 2
};

}  // namespace poet::tf::replicas
