// poet make-replica: writes a structurally faithful replica of a graph that cannot be
// downloaded here (Inception v3 2015) or of a MobileNet v1 size without a local file, with
// seeded weights, for tests and benchmarks.
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

#include "cli/flags.h"
#include "engine/error.h"
#include "engine/file_io.h"
#include "importers/tensorflow/graphdef.h"
#include "importers/tensorflow/replicas/mobilenet_v1.h"

namespace poet::cli {
namespace {

double positional_number(const std::string& text, const char* what) {
  const std::optional<double> v = parse_number(text);
  if (!v || !std::isfinite(*v)) fail(what, ": expected a decimal number, got '", text, "'");
  return *v;
}

}  // namespace

int make_replica(Args args) {
  Flags flags("make-replica",
              "inception_v3 OUT.pb [--seed N]  |  mobilenet_v1 DEPTH RES OUT.pb [--seed N]",
              {{"seed", "1", "seed of the generated weights (same seed, same bytes)"}}, args);
  if (flags.help_requested()) return 0;
  const std::vector<std::string>& pos = flags.positional();
  if (pos.empty()) fail("which architecture? inception_v3 or mobilenet_v1 (see --help)");
  int64_t seed = flags.integer("seed");
  if (seed < 0 || seed > 0xFFFFFFFFll) fail("--seed: ", seed, " is not in 0..4294967295");
  tf::replicas::WeightSource weights = tf::replicas::seeded_weights(static_cast<uint32_t>(seed));

  tf::replicas::Replica replica;
  std::string out;
  if (pos[0] == "inception_v3") {
    if (pos.size() != 2) fail("usage: poet make-replica inception_v3 OUT.pb [--seed N]");
    out = pos[1];
    check_can_write(out, PathKind::kFile, "OUT.pb");
    replica = tf::replicas::inception_v3_2015(weights);
  } else if (pos[0] == "mobilenet_v1") {
    if (pos.size() != 4) fail("usage: poet make-replica mobilenet_v1 DEPTH RES OUT.pb [--seed N]");
    double depth = positional_number(pos[1], "DEPTH");
    double res = positional_number(pos[2], "RES");
    using tf::replicas::kMobileNetMaxResolution, tf::replicas::kMobileNetMinResolution;
    if (!(res >= kMobileNetMinResolution && res <= kMobileNetMaxResolution) ||
        res != std::floor(res))
      fail("RES: expected an integer in ", kMobileNetMinResolution, "..", kMobileNetMaxResolution,
           " (above, the 7x7 pool before the logits leaves more than one position), got '", pos[2],
           "'");
    out = pos[3];
    check_can_write(out, PathKind::kFile, "OUT.pb");
    replica = tf::replicas::mobilenet_v1(depth, static_cast<int>(res), weights);
  } else {
    fail("unknown architecture '", pos[0], "' (inception_v3 or mobilenet_v1)");
  }
  tf::write_graphdef(replica.graph_def, out);
  int64_t flops = 0;
  for (const auto& layer : replica.layers) flops += layer.flops;
  std::printf("wrote %s: %d nodes, %.3f GFLOPs per image\n", out.c_str(),
              replica.graph_def.node_size(), flops / 1e9);
  return 0;
}

}  // namespace poet::cli
