// model.json's Keras topology -> poet::Graph: each layer in file order, wired by its
// inbound_nodes, converted by the function for its class_name (layers.cc).
#include "importers/tfjs/json_util.h"
#include "importers/tfjs/layers.h"
#include "importers/tfjs/tfjs.h"

namespace poet::tfjs {

namespace {

// The name of a Sequential model's layer: its config's, as Keras and TF.js read it back (an
// entry may carry another beside it).
std::string layer_name(const Json& layer, const std::string& where) {
  const Json& config = field(layer, "config", where);
  return config.contains("name") ? get<std::string>(config, "name", where)
                                 : get<std::string>(layer, "name", where);
}

// The InputLayer Keras gives a Sequential model whose first layer declares the input itself
// (its `batch_input_shape`, or the model's `build_input_shape` from model.build()): named
// "<first layer>_input".
Json implied_input_layer(const Json& model, const Json& first, const std::string& name,
                         const std::string& where) {
  const Json& config = field(first, "config", where);
  const Json* shape = config.contains("batch_input_shape") ? &config["batch_input_shape"]
                      : model.is_object() && model.contains("build_input_shape")
                          ? &model["build_input_shape"]
                          : nullptr;
  if (!shape)
    fail(where, " '", name,
         "': the first layer of a Sequential model has no batch_input_shape (nor has the model a "
         "build_input_shape): the input's shape is unknown");
  return {{"name", name + "_input"},
          {"class_name", "InputLayer"},
          {"config",
           {{"batch_input_shape", *shape},
            {"dtype", get_or<std::string>(config, "dtype", "float32", where)}}},
          {"inbound_nodes", Json::array()}};
}

// A Sequential model's config in the functional form the importer reads: every layer named and
// reading the one before it, an InputLayer first (implied_input_layer where the model has
// none), the first and last layers the model's input and output.
Json functional_config(const Json& config, const std::string& where) {
  // Keras before 2.2.3 wrote the list of layers alone.
  const Json& layers = config.is_array() ? config : field(config, "layers", where);
  if (!layers.is_array()) fail(where, ": 'layers' is not a list");
  if (layers.empty()) fail(where, ": a Sequential model without layers");
  // [layer, node 0, tensor 0] (inbound nodes add the call's keyword arguments).
  auto output_of = [](const Json& layer, auto... kwargs) {
    return Json::array({layer["name"], 0, 0, kwargs...});
  };
  Json out = {{"layers", Json::array()}};
  Json& converted = out["layers"];
  for (size_t i = 0; i < layers.size(); ++i) {
    const Json& entry = layers[i];
    const std::string at = str_cat(where, " layer ", i);
    const std::string name = layer_name(entry, at);
    const bool input = get<std::string>(entry, "class_name", at) == "InputLayer";
    // Keras and TF.js refuse an input anywhere else: nothing may feed an InputLayer.
    if (input && i > 0)
      fail(at, " '", name, "' (InputLayer): an InputLayer must be a Sequential model's first");
    Json layer = entry;
    layer["name"] = name;
    layer["inbound_nodes"] = Json::array();
    if (i == 0 && !input) converted.push_back(implied_input_layer(config, entry, name, at));
    if (!converted.empty())
      layer["inbound_nodes"].push_back(Json::array({output_of(converted.back(), Json::object())}));
    converted.push_back(std::move(layer));
  }
  out["input_layers"] = Json::array({output_of(converted.front())});
  out["output_layers"] = Json::array({output_of(converted.back())});
  return out;
}

}  // namespace

Json model_config(const Json& model, const std::string& where) {
  std::string format = get_or<std::string>(model, "format", "layers-model", where);
  if (format != "layers-model")
    fail(where, ": format '", format,
         "' is not a TF.js layers model (graph models are not supported)");
  const Json& topology = field(model, "modelTopology", where);
  const Json& config = topology.contains("model_config") ? topology["model_config"] : topology;
  std::string cls = get<std::string>(config, "class_name", where + " model_config");
  if (cls != "Model" && cls != "Functional" && cls != "Sequential")
    fail(where, ": model class '", cls, "' is not supported");
  const Json& body = field(config, "config", where + " model_config");
  return cls == "Sequential" ? functional_config(body, where + " model_config") : body;
}

namespace {

// The layer a reference to a layer's output names: [layer, node index, tensor index] (inbound
// nodes add their call's kwargs). Every layer poet converts is called once and has one output,
// so both indices must be 0 where given: Keras and TF.js find no tensor at another. `what`
// names the reference in errors ("output_layers entry").
std::string referenced_layer(const Json& ref, const std::string& where, std::string_view what) {
  if (!ref.is_array() || ref.empty() || !ref[0].is_string())
    fail(where, ": malformed ", what, " ", ref.dump().substr(0, 80));
  std::string layer = ref[0].get<std::string>();
  for (size_t i : {1, 2}) {
    if (ref.size() <= i || ref[i] == 0) continue;
    fail(where, ": ", what, " ", ref.dump().substr(0, 80), ": ",
         i == 1 ? str_cat("node ", ref[i].dump(), " of layer '", layer,
                          "' does not exist (shared layers, called more than once, are not "
                          "supported: each layer has node 0 only)")
                : str_cat("tensor ", ref[i].dump(), " of layer '", layer,
                          "' does not exist (its one output is tensor 0)"));
  }
  return layer;
}

// The layer outputs a layer consumes: inbound_nodes = [[[layer, node, tensor, kwargs], ...]].
std::vector<Endpoint> inbound(const Json& layer, const std::map<std::string, Endpoint>& outputs,
                              const std::string& where) {
  const Json& nodes = field(layer, "inbound_nodes", where);
  if (!nodes.is_array()) fail(where, ": inbound_nodes is not a list");
  if (nodes.empty()) return {};
  if (nodes.size() > 1) fail(where, ": shared layers (called more than once) are not supported");
  std::vector<Endpoint> inputs;
  for (const Json& ref : nodes[0]) {
    std::string source = referenced_layer(ref, where, "inbound_nodes entry");
    auto it = outputs.find(source);
    if (it == outputs.end())
      fail(where, ": input layer '", source, "' is not defined before it (or does not exist)");
    inputs.push_back(it->second);
  }
  return inputs;
}

// input_layers and output_layers, checked as Keras and TF.js check them when they build the
// model: each entry names a layer of the model, and each input an InputLayer.
ModelSignature signature(const Json& config, const std::string& file) {
  std::map<std::string, std::string> classes;  // layer name -> class_name
  for (const Json& layer : field(config, "layers", file)) {
    std::string name = get<std::string>(layer, "name", file + " layer");
    classes[name] = get<std::string>(layer, "class_name", file + " layer '" + name + "'");
  }
  ModelSignature sig;
  for (const char* key : {"input_layers", "output_layers"}) {
    const Json& refs = field(config, key, file);
    if (!refs.is_array()) fail(file, ": ", key, " is not a list");
    const std::string what = str_cat(key, " entry");
    for (const Json& ref : refs) {
      std::string name = referenced_layer(ref, file, what);
      auto it = classes.find(name);
      if (it == classes.end())
        fail(file, ": ", what, " ", ref.dump().substr(0, 80), ": the model has no layer '", name,
             "'");
      const bool input = key[0] == 'i';
      if (input && it->second != "InputLayer")
        fail(file, ": ", what, " ", ref.dump().substr(0, 80), ": layer '", name, "' is a ",
             it->second, ", not an InputLayer");
      (input ? sig.inputs : sig.outputs).push_back(name);
    }
  }
  return sig;
}

ModelSignature read_signature_of(const std::filesystem::path& model_json) {
  Json model = read_json(model_json);
  return signature(model_config(model, model_json.string()), model_json.string());
}

Graph load_model_of(const std::filesystem::path& model_json) {
  const std::string file = model_json.string();
  Json model = read_json(model_json);
  const Json config = model_config(model, file);
  std::map<std::string, Tensor> weights = load_weights(model, model_json);
  Graph graph;
  ShapeInference shapes(graph);
  std::map<std::string, Endpoint> outputs;  // layer name -> its output
  for (const Json& layer : field(config, "layers", file)) {
    std::string name = get<std::string>(layer, "name", file + " layer");
    std::string cls = get<std::string>(layer, "class_name", file + " layer '" + name + "'");
    std::string where = str_cat(file, ": layer '", name, "' (", cls, ")");
    if (outputs.count(name)) fail(where, ": two layers have this name");
    LayerContext ctx(graph, shapes, weights, name, field(layer, "config", where), where);
    ctx.inputs = inbound(layer, outputs, where);
    outputs[name] = convert_layer(cls, ctx);
    ctx.shape_of(outputs[name]);  // the layer's nodes are inferred now, its errors naming it
  }
  if (!weights.empty())
    fail(file, ": weight '", weights.begin()->first, "' is not used by any layer");
  signature(config, file);  // the model's inputs and outputs must be layers it has
  return graph;
}

}  // namespace

ModelSignature read_signature(const std::filesystem::path& model_json) {
  return naming_json_errors(model_json.string(), [&] { return read_signature_of(model_json); });
}

Graph load_model(const std::filesystem::path& model_json) {
  return naming_json_errors(model_json.string(), [&] { return load_model_of(model_json); });
}

}  // namespace poet::tfjs
