// Two passes: the 2015 layout is first built with zero weights to read its structure, each of
// its convolution scopes is matched to a Keras Conv2D by what both read, and the layout is
// built again with the matched Keras weights. The weights are read before either pass: the
// head's sizes, which the first pass builds at, must be those of its kernels (dense_units).
#include "importers/tfjs/inception_v3_layout.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

#include "importers/tfjs/json_util.h"
#include "importers/tfjs/layers.h"
#include "importers/tfjs/tfjs.h"

namespace poet::tfjs {
namespace {

using tf::replicas::WeightRequest;

struct KerasLayer {
  std::string name, cls;
  const Json* config = nullptr;
  std::vector<std::string> inputs;
  std::vector<std::string> readers;
  int order = 0;  // the number Keras gave the layer at creation ("conv2d_12" -> 12)
};

int creation_number(const std::string& name) {
  size_t us = name.rfind('_');
  if (us == std::string::npos || us + 1 == name.size()) return 0;
  int n = 0;
  for (char c : name.substr(us + 1)) {
    if (c < '0' || c > '9' || n > 1000000) return 0;
    n = n * 10 + (c - '0');
  }
  return n;
}

// The Keras model as layers wired by name.
class KerasGraph {
 public:
  KerasGraph(const Json& config, const std::string& file) : file_(file) {
    for (const Json& layer : field(config, "layers", file)) {
      KerasLayer k;
      k.name = get<std::string>(layer, "name", file + " layer");
      k.cls = get<std::string>(layer, "class_name", file + " layer '" + k.name + "'");
      k.config = &field(layer, "config", file + " layer '" + k.name + "'");
      k.order = creation_number(k.name);
      const Json& nodes = field(layer, "inbound_nodes", file);
      if (nodes.is_array() && !nodes.empty())
        for (const Json& ref : nodes[0])
          if (ref.is_array() && !ref.empty() && ref[0].is_string())
            k.inputs.push_back(ref[0].get<std::string>());
      // Inputs defined earlier only, as Keras writes them and load_model requires: the walks
      // back from the output (find_head, flat_inputs) then cannot go round a cycle.
      for (const std::string& in : k.inputs) {
        if (!layers_.count(in))
          fail(file, ": layer '", k.name, "' (", k.cls, "): input layer '", in,
               "' is not defined before it (or does not exist)");
        layers_.at(in).readers.push_back(k.name);
      }
      if (!layers_.emplace(k.name, k).second) fail(file, ": two layers named '", k.name, "'");
      names_.push_back(k.name);
    }
  }

  // The layer `name`; `role` names it in the error when there is none.
  const KerasLayer& at(const std::string& name, std::string_view role = "layer") const {
    auto it = layers_.find(name);
    if (it == layers_.end()) fail(file_, ": the model has no ", role, " '", name, "'");
    return it->second;
  }
  const std::vector<std::string>& names() const { return names_; }
  const std::string& file() const { return file_; }
  std::string where(const std::string& name) const {
    return str_cat(file_, ": layer '", name, "' (", layers_.at(name).cls, ")");
  }
  // The only reader of `name`, which must be of class `cls`.
  const KerasLayer& sole_reader(const std::string& name, std::initializer_list<const char*> cls,
                                const std::string& role) const {
    const KerasLayer& k = at(name);
    if (k.readers.size() == 1) {
      const KerasLayer& r = at(k.readers[0]);
      if (std::find(cls.begin(), cls.end(), r.cls) != cls.end()) return r;
    }
    fail(where(name), ": expected it to be read by one ", role, " only");
  }
  template <class T>
  T config(const KerasLayer& k, std::string_view key, T fallback) const {
    return get_or<T>(*k.config, key, std::move(fallback), where(k.name));
  }

 private:
  std::string file_;
  std::map<std::string, KerasLayer> layers_;
  std::vector<std::string> names_;
};

std::vector<int64_t> pair_or(const KerasGraph& g, const KerasLayer& k, std::string_view key,
                             std::vector<int64_t> fallback) {
  return g.config<std::vector<int64_t>>(k, key, std::move(fallback));
}

const tensorflow::AttrValue& attr(const tensorflow::NodeDef& node, const std::string& key) {
  auto it = node.attr().find(key);
  if (it == node.attr().end()) fail("2015 layout: node '", node.name(), "' has no ", key);
  return it->second;
}

int64_t hw_attr(const tensorflow::NodeDef& node, const std::string& key, int i) {
  return attr(node, key).list().i(1 + i);
}

std::string keras_padding(const KerasGraph& g, const KerasLayer& k) {
  std::string p = g.config<std::string>(k, "padding", "valid");
  std::transform(p.begin(), p.end(), p.begin(), ::toupper);
  return p;
}

// The Concatenate's inputs with nested Concatenates (Keras's mixed9_0 and concatenate_1
// inside mixed9) replaced by their own inputs, as the 2015 graph's one six-way Concat has.
std::vector<std::string> flat_inputs(const KerasGraph& g, const KerasLayer& k) {
  std::vector<std::string> out;
  for (const std::string& in : k.inputs) {
    const KerasLayer& src = g.at(in);
    if (src.cls == "Concatenate" && src.readers.size() == 1) {
      auto nested = flat_inputs(g, src);
      out.insert(out.end(), nested.begin(), nested.end());
    } else {
      out.push_back(in);
    }
  }
  return out;
}

// The Keras conv, batch norm and the layer holding the activation that fill a conv scope.
struct ConvMatch {
  std::string conv, batch_norm, output;
};

class Matcher {
 public:
  Matcher(const KerasGraph& keras, const tensorflow::GraphDef& layout, std::string input_layer)
      : k_(keras) {
    for (const auto& node : layout.node()) nodes_[node.name()] = &node;
    tensor_["Mul"] = std::move(input_layer);
  }

  // Matches every conv scope, in the 2015 graph's order, then checks that the Keras head's
  // pool (`keras_pool`) is pool_3: an 8x8 VALID average over what mixed_10/join matched.
  std::vector<std::pair<std::string, ConvMatch>> match_all(const tensorflow::GraphDef& layout,
                                                           const std::string& keras_pool) {
    std::vector<std::pair<std::string, ConvMatch>> out;
    for (const auto& node : layout.node()) {
      if (node.op() != "Conv2D") continue;
      const std::string scope = node.name().substr(0, node.name().rfind('/'));
      out.emplace_back(scope, match_conv(scope, node));
    }
    const std::string top = keras_of(nodes_.at("pool_3")->input(0));
    const KerasLayer& pool = k_.at(keras_pool);
    if (pool.cls != "AveragePooling2D" || keras_padding(k_, pool) != "VALID" ||
        pair_or(k_, pool, "pool_size", {2, 2}) != std::vector<int64_t>{8, 8} ||
        pool.inputs != std::vector<std::string>{top})
      fail(k_.where(keras_pool), ": expected pool_3, the 8x8 VALID average pool of '", top, "'");
    for (const std::string& name : k_.names())
      if (k_.at(name).cls == "Conv2D" && !used_.count(name))
        fail(k_.where(name), ": no 2015 scope corresponds to this layer");
    return out;
  }

 private:
  ConvMatch match_conv(const std::string& scope, const tensorflow::NodeDef& conv) {
    const std::string source = keras_of(conv.input(0));
    const auto& shape = nodes_.at(conv.input(1))->attr().at("value").tensor().tensor_shape();
    Shape filter;
    for (const auto& d : shape.dim()) filter.push_back(d.size());
    const int64_t stride = hw_attr(conv, "strides", 0);
    const std::string padding = attr(conv, "padding").s();
    // Every unused Conv2D reading `source` with this kernel; Keras's creation order breaks
    // ties between branches alike in shape (mixed/conv and mixed/tower_1/conv).
    const KerasLayer* best = nullptr;
    for (const std::string& reader : k_.at(source).readers) {
      const KerasLayer& c = k_.at(reader);
      if (c.cls != "Conv2D" || used_.count(c.name)) continue;
      if (!fits(c, filter, stride, padding)) continue;
      if (!best || c.order < best->order) best = &c;
    }
    if (!best)
      fail(k_.file(), ": 2015 scope '", scope, "': no Keras Conv2D reading '", source,
           "' has kernel ", shape_string(filter), ", stride ", stride, ", padding ", padding);
    used_.insert(best->name);
    const KerasLayer& bn = k_.sole_reader(best->name, {"BatchNormalization"}, "BatchNormalization");
    const KerasLayer& act = k_.sole_reader(bn.name, {"Activation", "ReLU"}, "ReLU activation");
    if (act.cls == "Activation" && k_.config<std::string>(act, "activation", "") != "relu")
      fail(k_.where(act.name), ": expected activation relu");
    tensor_[scope] = act.name;
    return {best->name, bn.name, act.name};
  }

  bool fits(const KerasLayer& c, const Shape& filter, int64_t stride,
            const std::string& padding) const {
    const auto kernel = get<std::vector<int64_t>>(*c.config, "kernel_size", k_.where(c.name));
    const int64_t filters = k_.config<int64_t>(c, "filters", 0);
    if (kernel != std::vector<int64_t>{filter[0], filter[1]} || filters != filter[3]) return false;
    if (pair_or(k_, c, "strides", {1, 1}) != std::vector<int64_t>{stride, stride}) return false;
    if (pair_or(k_, c, "dilation_rate", {1, 1}) != std::vector<int64_t>{1, 1}) return false;
    // A 1x1 stride-1 convolution pads nothing either way.
    bool pointwise = filter[0] == 1 && filter[1] == 1 && stride == 1;
    return pointwise || keras_padding(k_, c) == padding;
  }

  // The Keras layer whose output equals the 2015 tensor `name` (a conv scope, pool or join).
  std::string keras_of(const std::string& name) {
    auto known = tensor_.find(name);
    if (known != tensor_.end()) return known->second;
    auto it = nodes_.find(name);
    if (it == nodes_.end()) fail("2015 layout: no node '", name, "'");
    const tensorflow::NodeDef& node = *it->second;
    std::string match;
    if (node.op() == "MaxPool" || node.op() == "AvgPool")
      match = match_pool(node);
    else if (node.op() == "Concat")
      match = match_join(node);
    else
      fail("2015 layout: cannot match node '", name, "' (", node.op(), ") to a Keras layer");
    tensor_[name] = match;
    return match;
  }

  std::string match_pool(const tensorflow::NodeDef& pool) {
    const std::string source = keras_of(pool.input(0));
    const char* cls = pool.op() == "MaxPool" ? "MaxPooling2D" : "AveragePooling2D";
    const int64_t k = hw_attr(pool, "ksize", 0), stride = hw_attr(pool, "strides", 0);
    for (const std::string& reader : k_.at(source).readers) {
      const KerasLayer& p = k_.at(reader);
      if (p.cls != cls || used_.count(p.name)) continue;
      if (pair_or(k_, p, "pool_size", {2, 2}) != std::vector<int64_t>{k, k}) continue;
      if (pair_or(k_, p, "strides", {k, k}) != std::vector<int64_t>{stride, stride}) continue;
      if (keras_padding(k_, p) != attr(pool, "padding").s()) continue;
      used_.insert(p.name);
      return p.name;
    }
    fail(k_.file(), ": 2015 node '", pool.name(), "': no Keras ", cls, " ", k, "x", k, "/", stride,
         " ", attr(pool, "padding").s(), " reads '", source, "'");
  }

  std::string match_join(const tensorflow::NodeDef& join) {
    std::vector<std::string> parts;
    for (int i = 1; i < join.input_size(); ++i) parts.push_back(keras_of(join.input(i)));
    for (const std::string& name : k_.names()) {
      const KerasLayer& c = k_.at(name);
      if (c.cls != "Concatenate" || used_.count(name)) continue;
      int64_t axis = k_.config<int64_t>(c, "axis", -1);
      if ((axis == -1 || axis == 3) && flat_inputs(k_, c) == parts) {
        used_.insert(name);
        return name;
      }
    }
    fail(k_.file(), ": 2015 node '", join.name(), "': no Keras Concatenate joins its ",
         parts.size(), " inputs in the same order");
  }

  const KerasGraph& k_;
  std::unordered_map<std::string, const tensorflow::NodeDef*> nodes_;
  std::map<std::string, std::string> tensor_;  // 2015 tensor -> Keras layer output
  std::set<std::string> used_;
};

// The Keras head: Flatten after a pool over the last block,
// then Dense layers (Dropout between them is an identity at inference), the last softmax.
struct Head {
  std::string pool;        // the pool the bottleneck flattens ("average_pooling2d_10")
  std::string bottleneck;  // "flatten_1"
  std::vector<std::string> dense;
};

Head find_head(const KerasGraph& g, const std::string& output) {
  Head head;
  std::string at = output;
  for (;;) {
    const KerasLayer& k = g.at(at);
    if (k.inputs.size() != 1) fail(g.where(at), ": expected one input");
    if (k.cls == "Dense") {
      head.dense.insert(head.dense.begin(), at);
    } else if (k.cls == "Flatten") {
      break;
    } else if (k.cls != "Dropout") {
      fail(g.where(at), ": the head after the bottleneck must be Dense and Dropout layers");
    }
    at = k.inputs[0];
  }
  if (head.dense.empty()) fail(g.where(output), ": no Dense layer after the bottleneck");
  head.bottleneck = at;
  head.pool = g.at(at).inputs.at(0);
  for (size_t i = 0; i < head.dense.size(); ++i) {
    const KerasLayer& d = g.at(head.dense[i]);
    std::string act = g.config<std::string>(d, "activation", "linear");
    std::string want = i + 1 == head.dense.size() ? "softmax" : "relu";
    if (act != want)
      fail(g.where(d.name), ": activation '", act, "', the 2015 layout needs ", want, " here");
  }
  return head;
}

// The units of Dense layer `name`, which its kernel in the weights must have: checked before the
// layout is built at that size.
int64_t dense_units(const KerasGraph& g, const std::map<std::string, Tensor>& weights,
                    const std::string& name) {
  const int64_t units = g.config<int64_t>(g.at(name), "units", 0);
  auto kernel = weights.find(name + "/kernel");
  if (kernel == weights.end()) fail(g.where(name), ": no weight '", name, "/kernel'");
  const Shape& shape = kernel->second.shape();
  if (shape.size() != 2 || shape[1] != units)
    fail(g.where(name), ": units ", units, ", but its kernel has shape ", shape_string(shape));
  return units;
}

// Serves the builder's weight requests from the Keras weights.
class KerasWeights {
 public:
  KerasWeights(std::map<std::string, Tensor> weights, const KerasGraph& g)
      : weights_(std::move(weights)), g_(g) {}

  void add_conv(const std::string& scope, const ConvMatch& m) {
    const KerasLayer& bn = g_.at(m.batch_norm);
    float eps = g_.config<float>(bn, "epsilon", 1e-3f);
    if (std::abs(eps - 0.001f) > 1e-9f)
      fail(g_.where(bn.name), ": epsilon ", eps, ", the 2015 layout's batch norm has 0.001");
    const KerasLayer& conv = g_.at(m.conv);
    std::string bias = g_.config<bool>(conv, "use_bias", true) ? m.conv + "/bias" : "";
    if (g_.config<std::string>(conv, "activation", "linear") != "linear")
      fail(g_.where(conv.name), ": a convolution before a batch norm must be linear");
    const std::string p = scope + "/";
    sources_[p + "conv2d_params"] = {m.conv + "/kernel", 0.f, ""};
    sources_[p + "batchnorm/gamma"] = {optional(bn, "scale", "/gamma"), 1.f, ""};
    sources_[p + "batchnorm/beta"] = {optional(bn, "center", "/beta"), 0.f, ""};
    // A conv bias b shifts the batch norm's input: fold it into the mean as mean - b.
    sources_[p + "batchnorm/moving_mean"] = {m.batch_norm + "/moving_mean", 0.f, bias};
    sources_[p + "batchnorm/moving_variance"] = {m.batch_norm + "/moving_variance", 0.f, ""};
  }

  void add_dense(const std::string& scope, const std::string& layer) {
    sources_[scope + "/weights"] = {layer + "/kernel", 0.f, ""};
    bool bias = g_.config<bool>(g_.at(layer), "use_bias", true);
    sources_[scope + "/biases"] = {bias ? layer + "/bias" : "", 0.f, ""};
  }

  Tensor operator()(const WeightRequest& r) const {
    auto it = sources_.find(std::string(r.name));
    if (it == sources_.end()) fail("2015 layout: no Keras weight for '", r.name, "'");
    const Source& s = it->second;
    if (s.weight.empty())
      return Tensor::from_floats(r.shape, std::vector<float>(num_elements(r.shape), s.fill));
    Tensor t = get(s.weight, r);
    if (!s.subtract.empty()) {
      t = t.clone();
      auto sub = get(s.subtract, r).data<float>();
      auto v = t.data<float>();
      for (size_t i = 0; i < v.size(); ++i) v[i] -= sub[i];
    }
    return t;
  }

 private:
  struct Source {
    std::string weight;  // "" for a constant fill
    float fill = 0;
    std::string subtract;  // a weight subtracted elementwise, or ""
  };

  std::string optional(const KerasLayer& bn, std::string_view flag, std::string_view key) {
    return g_.config<bool>(bn, flag, true) ? bn.name + std::string(key) : "";
  }

  const Tensor& get(const std::string& name, const WeightRequest& r) const {
    auto it = weights_.find(name);
    if (it == weights_.end())
      fail(g_.file(), ": weight '", name, "' (for '", r.name, "') is missing");
    if (it->second.shape() != r.shape)
      fail(g_.file(), ": weight '", name, "' has shape ", shape_string(it->second.shape()),
           " but 2015 '", r.name, "' needs ", shape_string(r.shape));
    return it->second;
  }

  std::map<std::string, Tensor> weights_;
  const KerasGraph& g_;
  std::map<std::string, Source> sources_;
};

InceptionLayout layout_of(const std::filesystem::path& model_json, float input_mean,
                          float input_scale) {
  const std::string file = model_json.string();
  Json model = read_json(model_json);
  const Json config = model_config(model, file);
  KerasGraph keras(config, file);
  ModelSignature sig = read_signature(model_json);
  if (sig.inputs.size() != 1 || sig.outputs.size() != 1)
    fail(file, ": the 2015 layout needs one input and one output");
  keras.at(sig.inputs[0], "input layer");  // both must exist: the matching starts from them
  keras.at(sig.outputs[0], "output layer");
  Head head = find_head(keras, sig.outputs[0]);

  std::map<std::string, Tensor> keras_weights = load_weights(model, model_json);
  tf::replicas::InceptionV3Options options;
  options.input_mean = input_mean;
  options.input_scale = input_scale;
  options.mixed_10_pool = "AvgPool";  // Keras's last block pools by average
  for (size_t i = 0; i + 1 < head.dense.size(); ++i)
    options.hidden.push_back({head.dense[i], dense_units(keras, keras_weights, head.dense[i])});
  options.classes = dense_units(keras, keras_weights, head.dense.back());

  // Pass 1: the layout's structure, with zero weights.
  auto zeros = [](const WeightRequest& r) { return Tensor(DType::kFloat32, r.shape); };
  tf::replicas::Replica shape_only = tf::replicas::inception_v3_2015(zeros, options);
  Matcher matcher(keras, shape_only.graph_def, sig.inputs[0]);
  auto convs = matcher.match_all(shape_only.graph_def, head.pool);
  shape_only = {};

  InceptionLayout layout;
  KerasWeights weights(std::move(keras_weights), keras);
  for (const auto& [scope, m] : convs) {
    weights.add_conv(scope, m);
    layout.mapping.push_back({scope, m.conv, m.batch_norm});
  }
  for (size_t i = 0; i < head.dense.size(); ++i) {
    std::string scope = i + 1 == head.dense.size() ? "softmax" : head.dense[i];
    weights.add_dense(scope, head.dense[i]);
    layout.mapping.push_back({scope, head.dense[i], ""});
  }
  layout.replica = tf::replicas::inception_v3_2015(std::cref(weights), options);
  return layout;
}

}  // namespace

InceptionLayout inception_v3_2015_layout(const std::filesystem::path& model_json, float input_mean,
                                         float input_scale) {
  return naming_json_errors(model_json.string(),
                            [&] { return layout_of(model_json, input_mean, input_scale); });
}

}  // namespace poet::tfjs
