// poet convert: a TF.js layers model (model.json + shards) -> a frozen TensorFlow GraphDef,
// either as poet imports it (layout tfjs) or, for a Keras InceptionV3, in the node layout of
// the 2015 classify_image_graph_def.pb (layout inception_v3_2015).
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/common.h"
#include "engine/file_io.h"
#include "engine/optimize/batch_norm.h"
#include "importers/tensorflow/graphdef.h"
#include "importers/tfjs/inception_v3_layout.h"
#include "importers/tfjs/tfjs.h"

namespace poet::cli {
namespace {

int convert_tfjs(const std::string& model, const std::string& out, bool fold) {
  Graph graph = tfjs::load_model(model);
  const tfjs::ModelSignature sig = tfjs::read_signature(model);
  int folded = 0;
  if (fold) {
    std::vector<std::string> outputs;
    for (const std::string& o : sig.outputs) outputs.push_back(o + ":0");
    graph = optimize::fold_batch_norms(graph, &folded, outputs);
  }
  tf::write_graphdef(graph, out);
  std::printf("wrote %s: %d nodes", out.c_str(), graph.size());
  if (fold) std::printf(", %d batch norms folded into convolutions", folded);
  std::printf("\n");
  for (const std::string& in : sig.inputs) std::printf("  input:  %s:0\n", in.c_str());
  for (const std::string& o : sig.outputs) std::printf("  output: %s:0\n", o.c_str());
  return 0;
}

int convert_inception(const std::string& model, const std::string& out, const Flags& flags) {
  // The checks of classify, label and retrain: each must fit a float, and so must 1/std (the
  // graph's Mul/y); the constants were written infinite.
  ImageInputSpec checked;
  read_normalisation_flags(flags, checked);
  const double mean = flags.number("input_mean"), std = flags.number("input_std");
  if (!(std > 0)) fail("--input_std: must be positive, got ", std);
  tfjs::InceptionLayout layout = tfjs::inception_v3_2015_layout(model, static_cast<float>(mean),
                                                                static_cast<float>(1.0 / std));
  tf::write_graphdef(layout.replica.graph_def, out);
  if (flags.boolean("print_mapping")) {
    for (const tfjs::ScopeMapping& m : layout.mapping)
      std::printf("%-32s %s%s%s\n", m.scope.c_str(), m.conv.c_str(),
                  m.batch_norm.empty() ? "" : " + ", m.batch_norm.c_str());
  }
  std::printf(
      "wrote %s: %d nodes, %zu scopes filled from %s\n"
      "  input:      DecodeJpeg/contents:0 (JPEG bytes), or Mul:0 [1,299,299,3] = (pixel - %g) / "
      "%g\n"
      "  bottleneck: pool_3/_reshape:0 [1,2048]\n"
      "  output:     softmax:0\n",
      out.c_str(), layout.replica.graph_def.node_size(), layout.mapping.size(), model.c_str(), mean,
      std);
  return 0;
}

}  // namespace

int convert(Args args) {
  // -o is short for --output.
  std::string output_flag = "--output";
  std::vector<char*> argv;
  for (char* a : args) argv.push_back(std::strcmp(a, "-o") == 0 ? output_flag.data() : a);
  Flags flags(
      "convert", "MODEL.json -o OUT.pb [--layout tfjs|inception_v3_2015] [--fold_batch_norm]",
      {
          {"output", "",
           "the GraphDef to write (also -o); text format if it ends in .pbtxt or .txt"},
          {"layout", "tfjs",
           "tfjs: the model's layers as TensorFlow ops, nodes named after the layers; "
           "inception_v3_2015: a Keras InceptionV3 in the node layout of Google's 2015 "
           "classify_image_graph_def.pb (docs/INCEPTION_V3.md)"},
          {"fold_batch_norm", "false",
           "tfjs layout: fold each batch norm into the convolution before it (weights + BiasAdd)",
           true},
          {"input_mean", "0", "inception_v3_2015: the JPEG pipeline's Sub/y"},
          {"input_std", "255", "inception_v3_2015: the JPEG pipeline's Mul/y is 1/input_std"},
          {"print_mapping", "false", "inception_v3_2015: list the Keras layers of each scope",
           true},
      },
      Args(argv.data(), argv.size()));
  if (flags.help_requested()) return 0;
  const std::vector<std::string>& pos = flags.positional();
  if (pos.size() != 1) fail("expected one model.json (got ", pos.size(), "); see --help");
  const std::string layout = flags.str("layout"), out = flags.required("output");
  if (layout != "tfjs" && layout != "inception_v3_2015")
    fail("--layout: unknown layout '", layout, "' (tfjs or inception_v3_2015)");
  if (!is_tfjs_model(pos[0])) fail(pos[0], ": expected a TF.js model.json");
  check_can_write(out, PathKind::kFile, "--output");
  for (const std::filesystem::path& file : tfjs::model_files(pos[0]))
    if (same_file(out, file))
      fail("--output ", out, ": is ", file.string(), ", a file of the model it converts");
  if (layout == "tfjs") {
    for (const char* f : {"input_mean", "input_std", "print_mapping"})
      if (flags.given(f)) fail("--", f, " applies to --layout inception_v3_2015 only");
    return convert_tfjs(pos[0], out, flags.boolean("fold_batch_norm"));
  }
  if (flags.boolean("fold_batch_norm"))
    fail("--fold_batch_norm applies to --layout tfjs only (the 2015 layout keeps its batch norms)");
  return convert_inception(pos[0], out, flags);
}

}  // namespace poet::cli
