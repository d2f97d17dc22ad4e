// poet inspect and poet bench on the real MobileNet graph: op histogram, inputs, outputs,
// parameters, the per-layer table with FLOPs and the activation arena; bench's report.
#include <gtest/gtest.h>

#include "tests/cli_util.h"
#include "tests/fixtures.h"

namespace poet::testing {
namespace {

TEST(InspectCli, DescribesTheRealMobileNet) {
  POET_REQUIRE_FIXTURE("mobilenet_v1_0.25_128/frozen_graph.pb");
  CliResult r = run_poet({"inspect", fixture("mobilenet_v1_0.25_128/frozen_graph.pb").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* want : {"ops (555 nodes)", "15  Conv2D", "13  DepthwiseConv2dNative",
                           "input  float32 [1,128,128,3]", "MobilenetV1/Predictions/Reshape_1",
                           "parameters: 475832 values", "_FusedConv2D", "[1,64,64,8]"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
  // 0.25_128 is about 14 M multiply-adds, 28 MFLOPs counting each as 2.
  size_t total = r.out.find("total: ");
  ASSERT_NE(total, std::string::npos) << r.out;
  double gflops = std::stod(r.out.substr(total + 7));
  EXPECT_GT(gflops, 0.025);
  EXPECT_LT(gflops, 0.032);
  // The largest activations alive together: the 64x64x8 pointwise input and 64x64x16 output,
  // 0.393 MB (printed with two decimals).
  size_t arena = r.out.find("activation arena: ");
  ASSERT_NE(arena, std::string::npos) << r.out;
  const double mb = std::stod(r.out.substr(arena + 18));
  EXPECT_GE(mb, 0.39);
  EXPECT_LT(mb, 1.0);
}

TEST(BenchCli, ReportsPeakArenaRunsAndImagesPerSecond) {
  POET_REQUIRE_FIXTURE("mobilenet_v1_0.25_128/frozen_graph.pb");
  for (const char* batch : {"1", "4"}) {
    CliResult r =
        run_poet({"bench", "--graph", fixture("mobilenet_v1_0.25_128/frozen_graph.pb").string(),
                  "--input_layer", "input", "--fetch", "MobilenetV1/Predictions/Reshape", "--batch",
                  batch, "--threads", "2", "--seconds", "0.05", "--per_layer"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* want : {"FMA peak per thread", "activation arena: ", "per run: median ",
                             "Conv2d_1_pointwise", "GFLOP/s", "\nimages/s: "})
      EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
    // Split image by image over the threads, a layer's time is thread time; a batch run whole
    // says how many threads each layer kept busy.
    const bool split = std::string(batch) == "4";
    EXPECT_EQ(r.out.find("thread time summed over the images") != std::string::npos, split)
        << r.out;
    EXPECT_EQ(r.out.find("%peak threads\n") != std::string::npos, !split) << r.out;
  }
}

}  // namespace
}  // namespace poet::testing
