// poet inspect and poet bench on the real MobileNet graph: op histogram, inputs, outputs,
// parameters, the per-layer table with FLOPs and the activation arena; bench's report.
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>
#include <thread>
#include <tuple>

#include "engine/file_io.h"
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

TEST(InspectCli, ABatchOutsideOneTo4096IsAnError) {
  for (const char* batch : {"0", "-3", "4097", "100000"}) {
    CliResult r = run_poet({"inspect", "g.pb", "--batch", batch});
    EXPECT_EQ(r.exit_code, 1) << batch;
    EXPECT_NE(r.err.find(std::string("--batch: expected 1..4096, got ") + batch), std::string::npos)
        << r.err;
  }
}

// x [?,1000,1000,1] into a 1x1 convolution to 8 channels: 32 MB an image out.
const char* const kWideConv = R"(
  node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } }
         attr { key: "shape" value { shape { dim { size: -1 } dim { size: 1000 } dim { size: 1000 }
                                             dim { size: 1 } } } } }
  node { name: "w" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }
         attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape { dim { size: 1 }
                dim { size: 1 } dim { size: 1 } dim { size: 8 } } float_val: 1 } } } }
  node { name: "y" op: "Conv2D" input: "x" input: "w" attr { key: "T" value { type: DT_FLOAT } }
         attr { key: "strides" value { list { i: 1 i: 1 i: 1 i: 1 } } }
         attr { key: "padding" value { s: "VALID" } } }
)";

// At --batch 200 the convolution's output, 6.4 GB, is over the 4 GiB tensor limit: its shape is
// inferred but its FLOPs are not counted, so inspect names it instead of printing a total
// without it (it printed 10634 GFLOPs for Inception v3 at --batch 1000 instead of 11434).
TEST(InspectCli, ALayerOverTheTensorLimitIsNamedInsteadOfATotal) {
  TempDir dir;
  write_file_atomic(dir / "g.pbtxt", kWideConv);
  CliResult r = run_poet({"inspect", (dir / "g.pbtxt").string(), "--batch", "100"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("total: 1.600 GFLOPs per run"), std::string::npos) << r.out;
  // Below 0.01 GFLOP the total is in MFLOPs: 100x100 pixels to 8 channels is 0.16 (it printed
  // "0.000 GFLOPs").
  std::string small = kWideConv;
  for (size_t at; (at = small.find("size: 1000 }")) != std::string::npos;)
    small.replace(at, 12, "size: 100 }");
  write_file_atomic(dir / "small.pbtxt", small);
  r = run_poet({"inspect", (dir / "small.pbtxt").string()});
  EXPECT_NE(r.out.find("total: 0.160 MFLOPs per run"), std::string::npos) << r.out;
  r = run_poet({"inspect", (dir / "g.pbtxt").string(), "--batch", "200"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("node 'y' (Conv2D): its output would be float32 [200,1000,1000,8], "
                       "6400000000 bytes, over poet's tensor limit of 4294967296 bytes"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.out.find("total:"), std::string::npos) << r.out;
}

// A placeholder [?,?,3]: its layer's shape, and so its FLOPs, are open.
TEST(InspectCli, ShapesTheGraphLeavesOpenGiveNoTotal) {
  TempDir dir;
  write_file_atomic(dir / "g.pbtxt", R"(
    node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } }
           attr { key: "shape" value { shape { dim { size: -1 } dim { size: -1 }
                                               dim { size: 3 } } } } }
    node { name: "y" op: "Relu" input: "x" attr { key: "T" value { type: DT_FLOAT } } }
  )");
  CliResult r = run_poet({"inspect", (dir / "g.pbtxt").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("total: unknown: the graph leaves the shapes of 1 layer open (the first: "
                       "'y' [1,?,3])"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("GFLOPs per run"), std::string::npos) << r.out;
  // It said "0.00 MB", the size of no plan.
  EXPECT_NE(r.out.find("activation arena: unknown until a run gives the open shapes"),
            std::string::npos)
      << r.out;
}

// poet bench on the real MobileNet v1 0.25_128 graph, with `flags` after the graph's.
CliResult bench_mobilenet(std::vector<std::string> flags) {
  std::vector<std::string> args = {"bench",
                                   "--graph",
                                   fixture("mobilenet_v1_0.25_128/frozen_graph.pb").string(),
                                   "--input_layer",
                                   "input",
                                   "--fetch",
                                   "MobilenetV1/Predictions/Reshape"};
  args.insert(args.end(), flags.begin(), flags.end());
  return run_poet(args);
}

// The line of `text` that holds `part`, without its end; empty if none does.
std::string line_with(const std::string& text, const std::string& part) {
  const size_t at = text.find(part);
  if (at == std::string::npos) return {};
  const size_t begin = text.rfind('\n', at) == std::string::npos ? 0 : text.rfind('\n', at) + 1;
  return text.substr(begin, text.find('\n', at) - begin);
}

TEST(BenchCli, ReportsPeakArenaRunsAndImagesPerSecond) {
  POET_REQUIRE_FIXTURE("mobilenet_v1_0.25_128/frozen_graph.pb");
  for (const char* batch : {"1", "4"}) {
    CliResult r =
        bench_mobilenet({"--batch", batch, "--threads", "2", "--seconds", "0.05", "--per_layer"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* want :
         {"FMA peak per thread", "activation arena: ", "per run: median ", "Conv2d_1_pointwise",
          "GFLOP/s", "FMA peak after the runs: ", "\nimages/s: "})
      EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
    // Split image by image over the threads, a layer's time is thread time; a batch run whole
    // says how many threads each layer kept busy.
    const bool split = std::string(batch) == "4";
    EXPECT_EQ(r.out.find("thread time summed over the images") != std::string::npos, split)
        << r.out;
    EXPECT_EQ(r.out.find("%peak threads\n") != std::string::npos, !split) << r.out;
  }
}

// The real graph's Predictions/Reshape_1 fixes the batch at 1 ([1, 1001]). Built for one image,
// it runs a batch image by image on the threads, and the report counts the batch's FLOP (the
// whole graph is about 0.027 GFLOP an image); without the batch split, the reshape's error.
TEST(BenchCli, AGraphThatFixesTheBatchRunsABatchImageByImage) {
  POET_REQUIRE_FIXTURE("mobilenet_v1_0.25_128/frozen_graph.pb");
  const std::vector<std::string> args = {"bench",
                                         "--graph",
                                         fixture("mobilenet_v1_0.25_128/frozen_graph.pb").string(),
                                         "--input_layer",
                                         "input",
                                         "--fetch",
                                         "MobilenetV1/Predictions/Reshape_1",
                                         "--batch",
                                         "4",
                                         "--threads",
                                         "2",
                                         "--seconds",
                                         "0.05"};
  CliResult r = run_poet(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("batch: the graph fixes it at 1, so it is built for one image\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("batch split: each thread runs one image at a time"), std::string::npos)
      << r.out;
  const size_t per_run = r.out.find(" GFLOP per run");
  ASSERT_NE(per_run, std::string::npos) << r.out;
  const double gflop = std::stod(r.out.substr(r.out.rfind(", ", per_run) + 2));
  EXPECT_GT(gflop, 4 * 0.025) << r.out;
  EXPECT_LT(gflop, 4 * 0.032) << r.out;

  std::vector<std::string> whole = args;
  whole.insert(whole.end(), {"--batch_split", "off"});
  r = run_poet(whole);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("node 'MobilenetV1/Predictions/Reshape_1' (Reshape): cannot reshape"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("; built for one image, the graph would take the batch image by image, "
                       "but the batch split is off"),
            std::string::npos)
      << r.err;
}

// --against: both backends' runs alternated in one process, each layer's times side by side
// where both executables have the layer, and each backend's summary, the first's images/s last.
TEST(BenchCli, AgainstPrintsBothBackendsSideBySide) {
  POET_REQUIRE_FIXTURE("mobilenet_v1_0.25_128/frozen_graph.pb");
  CliResult r = bench_mobilenet(
      {"--threads", "2", "--seconds", "0.05", "--per_layer", "--against", "onednn"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* want : {"native ms onednn ms onednn/native\n",
                           "images/s (onednn): ", "images/s (native): ", "layers (onednn): "})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
  // The logits layer is a _FusedConv2D on both: two times and a ratio.
  const std::string logits = line_with(r.out, "Logits/Conv2d_1c_1x1/BiasAdd");
  ASSERT_FALSE(logits.empty()) << r.out;
  std::istringstream row(logits);
  std::string name, op, shape, native_ms, onednn_ms, ratio;
  row >> name >> op >> shape >> native_ms >> onednn_ms >> ratio;
  // The ratio is of the unrounded times: within what the printed times' last digit allows.
  const double a = std::stod(native_ms), b = std::stod(onednn_ms), half_digit = 0.0005;
  ASSERT_GT(a, half_digit) << r.out;
  EXPECT_GE(std::stod(ratio) + 0.005, (b - half_digit) / (a + half_digit)) << r.out;
  EXPECT_LE(std::stod(ratio) - 0.005, (b + half_digit) / (a - half_digit)) << r.out;
  // Native runs each depthwise layer and its 1x1 layer as one step, under the 1x1 layer's name:
  // "-" on oneDNN's side, whose two steps follow the table with "-" on native's.
  EXPECT_NE(line_with(r.out, "Conv2d_1_pointwise/Relu6     _FusedConvChain").find(" - "),
            std::string::npos)
      << r.out;
  EXPECT_NE(line_with(r.out, "Conv2d_1_depthwise/Relu6").find(" - "), std::string::npos) << r.out;
  const size_t onednn = r.out.find("images/s (onednn): ");
  EXPECT_GT(std::stod(r.out.substr(onednn + 19)), 0) << r.out;
  // The report still ends with the first backend's images/s.
  const size_t last = r.out.rfind("\nimages/s: ");
  ASSERT_NE(last, std::string::npos) << r.out;
  const size_t native = r.out.find("images/s (native): ");
  EXPECT_EQ(std::stod(r.out.substr(last + 11)), std::stod(r.out.substr(native + 19))) << r.out;
}

// A batch split over the threads image by image (native) times a layer in thread time, a batch
// run whole (oneDNN) in wall time: the table says so and gives no ratio.
TEST(BenchCli, AgainstWithOneSideSplittingTheBatchGivesNoRatios) {
  POET_REQUIRE_FIXTURE("mobilenet_v1_0.25_128/frozen_graph.pb");
  CliResult r = bench_mobilenet({"--batch", "4", "--threads", "2", "--seconds", "0.05",
                                 "--per_layer", "--against", "onednn"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("native's times are thread time summed over the images, onednn's wall "
                       "time (no ratios)"),
            std::string::npos)
      << r.out;
  const std::string row = line_with(r.out, "Conv2d_0/Relu6");
  ASSERT_GT(row.size(), 2u) << r.out;
  EXPECT_EQ(row.substr(row.size() - 2), " -") << row;
}

// A scalar input has no batch dimension: the runs computed one value and images/s counted
// --batch of them.
TEST(BenchCli, ABatchForAScalarInputIsAnError) {
  TempDir dir;
  write_file_atomic(dir / "g.pbtxt", R"(
    node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } }
           attr { key: "shape" value { shape { } } } }
    node { name: "y" op: "Relu" input: "x" attr { key: "T" value { type: DT_FLOAT } } }
  )");
  const std::vector<std::string> args = {"bench",
                                         "--graph",
                                         (dir / "g.pbtxt").string(),
                                         "--input_layer",
                                         "x",
                                         "--fetch",
                                         "y",
                                         "--seconds",
                                         "0.01",
                                         "--threads",
                                         "1"};
  std::vector<std::string> batch = args;
  batch.insert(batch.end(), {"--batch", "8"});
  CliResult r = run_poet(batch);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--batch 8: input 'x:0' is a scalar, with no batch dimension"),
            std::string::npos)
      << r.err;
  r = run_poet(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// x [?,?,3] -> Relu y.
const char* const kOpenRelu = R"(
    node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } }
           attr { key: "shape" value { shape { dim { size: -1 } dim { size: -1 }
                                               dim { size: 3 } } } } }
    node { name: "y" op: "Relu" input: "x" attr { key: "T" value { type: DT_FLOAT } } }
)";

// --input_shape fills the dims a graph leaves open; one that contradicts a declared dim, or the
// rank, ran with the flag's shape ([1,5,4] for [?,?,3]) or failed deep inside (MobileNet's
// Squeeze at 64x64).
TEST(BenchCli, AnInputShapeThatContradictsTheGraphIsAnError) {
  TempDir dir;
  write_file_atomic(dir / "g.pbtxt", kOpenRelu);
  auto bench = [&](const std::string& dims) {
    return run_poet({"bench", "--graph", (dir / "g.pbtxt").string(), "--input_layer", "x",
                     "--fetch", "y", "--seconds", "0.01", "--threads", "1", "--input_shape", dims});
  };
  for (const char* dims : {"5,4", "5", "5,3,1"}) {
    CliResult r = bench(dims);
    EXPECT_EQ(r.exit_code, 1) << dims;
    EXPECT_NE(r.err.find(std::string("--input_shape ") + dims +
                         ": the graph declares input 'x:0' [?,?,3]"),
              std::string::npos)
        << r.err;
  }
  CliResult r = bench("5,3");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// An input whose shape the graph leaves open: the error named neither ("shape [1,?,3] is not
// fully known").
TEST(BenchCli, AnOpenInputShapeNamesTheInputAndInputShape) {
  TempDir dir;
  write_file_atomic(dir / "g.pbtxt", std::string(kOpenRelu) + R"(
    node { name: "u" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
    node { name: "v" op: "Relu" input: "u" attr { key: "T" value { type: DT_FLOAT } } }
  )");
  for (const auto& [input, fetch, shape] :
       {std::tuple{"x", "y", "[1,?,3]"}, std::tuple{"u", "v", "<unknown>"}}) {
    CliResult r = run_poet({"bench", "--graph", (dir / "g.pbtxt").string(), "--input_layer", input,
                            "--fetch", fetch, "--seconds", "0.01", "--threads", "1"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(
        r.err.find(std::string("the graph leaves the shape of input '") + input + ":0' open, " +
                   shape + ": give its dims after the batch with --input_shape"),
        std::string::npos)
        << r.err;
  }
}

// x -> y, and a constant c -> z that reads no input.
const char* const kReluAndConstant = R"(
  node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } }
         attr { key: "shape" value { shape { dim { size: 1 } dim { size: 4 } } } } }
  node { name: "y" op: "Relu" input: "x" attr { key: "T" value { type: DT_FLOAT } } }
  node { name: "c" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }
         attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape { } float_val: 1 } } } }
  node { name: "z" op: "Relu" input: "c" attr { key: "T" value { type: DT_FLOAT } } }
)";

// A fetch that does not depend on the input computes the same whatever is fed.
TEST(BenchCli, AFetchThatDoesNotReadTheInputIsAnError) {
  TempDir dir;
  write_file_atomic(dir / "g.pbtxt", kReluAndConstant);
  CliResult r = run_poet({"bench", "--graph", (dir / "g.pbtxt").string(), "--input_layer", "x",
                          "--fetch", "z", "--seconds", "0.01", "--threads", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--fetch 'z:0' does not depend on --input_layer 'x:0'"), std::string::npos)
      << r.err;
}

// Fetching the input itself runs no layer: bench timed the empty table as a network
// (images/s: 1827270.9).
TEST(BenchCli, AFetchThatIsTheInputIsAnError) {
  TempDir dir;
  write_file_atomic(dir / "g.pbtxt", kReluAndConstant);
  for (const char* fetch : {"x", "x:0"}) {
    CliResult r = run_poet({"bench", "--graph", (dir / "g.pbtxt").string(), "--input_layer", "x",
                            "--fetch", fetch, "--seconds", "0.01", "--threads", "1"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("--fetch 'x:0' is --input_layer 'x:0' itself: no layer would run"),
              std::string::npos)
        << r.err;
  }
  // Through an Identity, which the optimiser removes, the same.
  write_file_atomic(dir / "g.pbtxt", std::string(kReluAndConstant) + R"(
    node { name: "i" op: "Identity" input: "x" attr { key: "T" value { type: DT_FLOAT } } }
  )");
  CliResult r = run_poet({"bench", "--graph", (dir / "g.pbtxt").string(), "--input_layer", "x",
                          "--fetch", "i", "--seconds", "0.01", "--threads", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--fetch 'i:0' is --input_layer 'x:0' passed on unchanged (Identity): no "
                       "layer would run"),
            std::string::npos)
      << r.err;
}

// An --input_layer that leaves the graph's placeholder needed: the executor's hint named
// --feed, which bench does not have.
TEST(BenchCli, AnInputLayerThatDoesNotCutTheGraphGetsBenchsHint) {
  TempDir dir;
  write_file_atomic(dir / "g.pbtxt", std::string(kReluAndConstant) + R"(
    node { name: "w" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }
           attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape { dim { size: 4 } }
                                                float_val: 2 } } } }
    node { name: "m" op: "Mul" input: "y" input: "w" attr { key: "T" value { type: DT_FLOAT } } }
  )");
  CliResult r = run_poet({"bench", "--graph", (dir / "g.pbtxt").string(), "--input_layer", "w",
                          "--fetch", "m", "--seconds", "0.01", "--threads", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("placeholder 'x' must be fed: tensor 'm:0' needs it (the command feeds "
                       "--input_layer alone: give it that placeholder, or a tensor the paths "
                       "from the placeholder all pass through)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("--feed"), std::string::npos) << r.err;
  // poet run, which has --feed, says so.
  r = run_poet({"run", "--graph", (dir / "g.pbtxt").string(), "--fetch", "m"});
  EXPECT_NE(r.err.find("placeholder 'x' must be fed: tensor 'm:0' needs it (use --feed)"),
            std::string::npos)
      << r.err;
}

// --seconds is the timing loop's time on the clock. A Relu of four floats computes next to
// nothing, so the runs take a small part of the loop's time; when the budget counted only the
// time inside the runs, the loop ran until those summed to --seconds, ten times longer. (Checked
// on the printed sum of the runs' times, not on the clock, which a loaded machine stretches.)
// images/s is measured on the clock over the runs, the work between them included, as the
// peers measure theirs: it said 1 / (the runs' mean time).
TEST(BenchCli, SecondsIsTheLoopsTimeOnTheClockAndImagesPerSecondItsRate) {
  TempDir dir;
  write_file_atomic(dir / "g.pbtxt", kReluAndConstant);
  CliResult r = run_poet({"bench", "--graph", (dir / "g.pbtxt").string(), "--input_layer", "x",
                          "--fetch", "y", "--seconds", "0.3", "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string runs = line_with(r.out, "runs: ");
  long long count = 0;
  double clock = 0, inside = 0;
  ASSERT_EQ(
      std::sscanf(runs.c_str(), "runs: %lld in %lf s (%lf s inside them)", &count, &clock, &inside),
      3)
      << runs;
  EXPECT_LT(inside, 0.3) << runs;
  EXPECT_GE(clock, 0.3) << runs;  // one executable's runs are one turn, timed whole
  EXPECT_LT(clock, 1.0) << runs;
  const std::string images = line_with(r.out, "images/s: ");
  const double rate = std::stod(images.substr(std::string("images/s: ").size()));
  EXPECT_NEAR(rate, static_cast<double>(count) / clock, 0.03 * rate) << runs << "\n" << images;
  EXPECT_NE(r.out.find("per run: median "), std::string::npos) << r.out;
}

// Threads beyond the machine's take turns on its cores: the peak is the machine's, not the
// per-thread peak times --threads (64 threads on 2 cores said "0.6% of 13686.6 peak").
TEST(BenchCli, MoreThreadsThanTheMachineHasAreMeasuredAgainstItsPeak) {
  TempDir dir;
  write_file_atomic(dir / "g.pbtxt", kReluAndConstant);
  const unsigned hardware = std::thread::hardware_concurrency();
  const std::string threads = std::to_string(hardware + 3);
  CliResult r = run_poet({"bench", "--graph", (dir / "g.pbtxt").string(), "--input_layer", "x",
                          "--fetch", "y", "--seconds", "0.01", "--threads", threads});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(threads + " threads (more than the machine's " + std::to_string(hardware) +
                       ": they take turns)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(" peak on " + std::to_string(hardware) + " threads)"), std::string::npos)
      << r.out;
}

TEST(BenchCli, ASecondsOutOfRangeIsEchoed) {
  for (const char* seconds : {"0", "-1", "3601"}) {
    CliResult r = run_poet(
        {"bench", "--graph", "g.pb", "--input_layer", "x", "--fetch", "y", "--seconds", seconds});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(
        r.err.find(std::string("--seconds: expected a duration in (0, 3600], got ") + seconds),
        std::string::npos)
        << r.err;
  }
}

// The reference kernels run each layer on one thread, whatever the pool: the report said "each
// split over the threads". A CPUID that lists no L1 printed "L1d 0-way".
TEST(BenchCli, TheReferenceBackendsLayersAreOnOneThread) {
  TempDir dir;
  write_file_atomic(dir / "g.pbtxt", kReluAndConstant);
  CliResult r =
      run_poet({"bench", "--graph", (dir / "g.pbtxt").string(), "--input_layer", "x", "--fetch",
                "y", "--seconds", "0.01", "--threads", "2", "--backend", "ref"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\nlayers: each on one thread (the reference kernels take one)\n"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find(" 0-way"), std::string::npos) << r.out;
}

// JPEG bytes fed as a string into DecodeJpeg (the Inception v3 2015 layout's input).
TEST(BenchCli, ACorruptImageIsNamedByItsFile) {
  TempDir dir;
  write_file_atomic(dir / "g.pbtxt", R"(
    node { name: "contents" op: "Placeholder" attr { key: "dtype" value { type: DT_STRING } }
           attr { key: "shape" value { shape { } } } }
    node { name: "decoded" op: "DecodeJpeg" input: "contents"
           attr { key: "channels" value { i: 3 } } }
  )");
  write_file_atomic(dir / "bad.jpg", "\xff\xd8\xff\xe0 not a JPEG after all");
  CliResult r =
      run_poet({"bench", "--graph", (dir / "g.pbtxt").string(), "--input_layer", "contents",
                "--fetch", "decoded", "--seconds", "0.01", "--image", (dir / "bad.jpg").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--image " + (dir / "bad.jpg").string() + ": invalid JPEG data"),
            std::string::npos)
      << r.err;
}

// bench feeds a float input random values; --image was silently ignored there.
TEST(BenchCli, AnImageForAFloatInputIsAnError) {
  TempDir dir;
  write_file_atomic(dir / "g.pbtxt", kReluAndConstant);
  CliResult r =
      run_poet({"bench", "--graph", (dir / "g.pbtxt").string(), "--input_layer", "x", "--fetch",
                "y", "--seconds", "0.01", "--threads", "1", "--image", (dir / "any.jpg").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--image: input 'x:0' is float32, which bench fills with random values"),
            std::string::npos)
      << r.err;
}

TEST(BenchCli, AgainstAnUnknownBackendFailsNamingTheFlag) {
  POET_REQUIRE_FIXTURE("mobilenet_v1_0.25_128/frozen_graph.pb");
  CliResult r = bench_mobilenet({"--against", "mkl"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--against: expected native, onednn or ref, got 'mkl'"), std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace poet::testing
