// Bad input at the command line: each case must print one clear error naming the file, node
// or flag at fault and exit non-zero, never crash.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "engine/file_io.h"
#include "engine/npy.h"
#include "tests/cli_util.h"
#include "tests/fixtures.h"

namespace poet::testing {
namespace {

const char* const kMobileNet = "mobilenet_v1_0.25_128/frozen_graph.pb";

// A text graph of "x", one image of 4 floats, and its Relu "y", written into `dir`; its path.
std::string write_relu_graph(const TempDir& dir) {
  write_file_atomic(dir / "g.pbtxt", R"(
    node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } }
           attr { key: "shape" value { shape { dim { size: 1 } dim { size: 4 } } } } }
    node { name: "y" op: "Relu" input: "x" attr { key: "T" value { type: DT_FLOAT } } }
  )");
  return (dir / "g.pbtxt").string();
}

void expect_error(const CliResult& r, const std::string& must_mention) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("error"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(must_mention), std::string::npos) << r.err;
}

TEST(CliErrors, MissingGraphFileIsNamed) {
  expect_error(run_poet({"run", "--graph", "/nonexistent/g.pb", "--fetch", "x"}),
               "/nonexistent/g.pb");
}

TEST(CliErrors, TruncatedGraphIsNamed) {
  POET_REQUIRE_FIXTURE(kMobileNet);
  TempDir dir;
  std::string bytes = read_file(fixture(kMobileNet));
  write_file_atomic(dir / "cut.pb", std::string_view(bytes).substr(0, bytes.size() / 3));
  expect_error(run_poet({"inspect", (dir / "cut.pb").string()}), "cut.pb");
}

TEST(CliErrors, GarbageGraphIsNamed) {
  TempDir dir;
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage.push_back(static_cast<char>((i * 7919) % 251));
  write_file_atomic(dir / "garbage.pb", garbage);
  expect_error(run_poet({"run", "--graph", (dir / "garbage.pb").string(), "--fetch", "x"}),
               "garbage.pb");
}

TEST(CliErrors, UnknownOpOnTheFetchedPathNamesOpNodeAndFetch) {
  TempDir dir;
  write_file_atomic(dir / "g.pbtxt", R"(
    node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
    node { name: "weird" op: "FancyNewOp" input: "x" }
    node { name: "fine" op: "Identity" input: "x" attr { key: "T" value { type: DT_FLOAT } } }
  )");
  write_npy(dir / "x.npy", Tensor::from_floats({2}, std::vector<float>{1, 2}));
  std::string feed = "x:0=" + (dir / "x.npy").string();
  CliResult r = run_poet(
      {"run", "--graph", (dir / "g.pbtxt").string(), "--feed", feed, "--fetch", "weird:0"});
  expect_error(r, "FancyNewOp");
  EXPECT_NE(r.err.find("'weird'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("weird:0"), std::string::npos) << r.err;
  // The same graph runs when the unknown op is not needed.
  r = run_poet({"run", "--graph", (dir / "g.pbtxt").string(), "--feed", feed, "--fetch", "fine"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(CliErrors, FeedOfTheWrongShapeNamesTheTensor) {
  POET_REQUIRE_FIXTURE(kMobileNet);
  TempDir dir;
  write_npy(dir / "x.npy", Tensor(DType::kFloat32, {1, 64, 64, 3}));
  CliResult r = run_poet({"run", "--graph", fixture(kMobileNet).string(), "--feed",
                          "input:0=" + (dir / "x.npy").string(), "--fetch",
                          "MobilenetV1/Predictions/Reshape:0"});
  expect_error(r, "input:0");
  EXPECT_NE(r.err.find("[1,64,64,3]"), std::string::npos) << r.err;
}

// Checked before the graph loads (the graph here does not exist): a directory cannot take
// the fetched tensor.
TEST(CliErrors, AnOutThatCannotBeWrittenIsNamedBeforeTheRun) {
  TempDir dir;
  expect_error(run_poet({"run", "--graph", (dir / "no_graph.pb").string(), "--fetch", "x", "--out",
                         dir.path().string()}),
               "--out " + dir.path().string() + ": is a directory, not a file");
}

TEST(CliErrors, OneOutForTwoFetchesIsAnError) {
  TempDir dir;
  const std::string out = (dir / "y.npy").string();
  expect_error(run_poet({"run", "--graph", "g.pb", "--fetch", "a", "--fetch", "b", "--out", out,
                         "--out", (dir / "." / "y.npy").string()}),
               "--out " + (dir / "." / "y.npy").string() +
                   " is given for two --fetch tensors; the second would replace the first");
}

// An --out over a file the run reads: the fetched tensor replaced the graph or the fed .npy
// (the same file by any spelling, through a link too), and the run exited 0.
TEST(CliErrors, AnOutOverAFileTheRunReadsIsRefusedBeforeTheRun) {
  TempDir dir;
  const std::string graph = (dir / "g.pbtxt").string(), x = (dir / "x.npy").string();
  write_file_atomic(graph, R"(
    node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
    node { name: "y" op: "Relu" input: "x" attr { key: "T" value { type: DT_FLOAT } } }
  )");
  write_npy(x, Tensor::from_floats({2}, std::vector<float>{-1, 2}));
  const std::string graph_bytes = read_file(graph), x_bytes = read_file(x);
  std::filesystem::create_symlink(graph, dir / "link.pbtxt");
  auto run = [&](const std::string& out) {
    return run_poet({"run", "--graph", graph, "--feed", "x:0=" + x, "--fetch", "y", "--fetch", "x",
                     "--out", (dir / "y.npy").string(), "--out", out});
  };
  expect_error(run(graph), "--out " + graph + ": is " + graph + ", which the run reads (--graph)");
  const std::string dotted = (dir / "." / "x.npy").string();
  expect_error(run(dotted), "--out " + dotted + ": is " + x + ", which the run reads (--feed)");
  expect_error(run((dir / "link.pbtxt").string()), ", which the run reads (--graph)");
  EXPECT_EQ(read_file(graph), graph_bytes);
  EXPECT_EQ(read_file(x), x_bytes);
  EXPECT_FALSE(std::filesystem::exists(dir / "y.npy"));  // refused before the run
  const CliResult r = run((dir / "x2.npy").string());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_file(dir / "x2.npy"), x_bytes);
}

// "input:1" of a node with one output: named with the feed or fetch, not std::vector's range
// check.
TEST(CliErrors, AnOutputIndexANodeLacksIsNamed) {
  POET_REQUIRE_FIXTURE(kMobileNet);
  TempDir dir;
  write_npy(dir / "x.npy", Tensor(DType::kFloat32, {1, 128, 128, 3}));
  const std::string graph = fixture(kMobileNet).string();
  const std::string fetch = "MobilenetV1/Predictions/Reshape_1";
  expect_error(run_poet({"run", "--graph", graph, "--feed", "input:1=" + (dir / "x.npy").string(),
                         "--fetch", fetch}),
               "feed 'input:1': node 'input' (Placeholder) has 1 output");
  expect_error(
      run_poet({"run", "--graph", graph, "--feed",
                "MobilenetV1/Predictions/Reshape:2=" + (dir / "x.npy").string(), "--fetch", fetch}),
      "feed 'MobilenetV1/Predictions/Reshape:2': node 'MobilenetV1/Predictions/Reshape' "
      "(Reshape) has 1 output");
  expect_error(run_poet({"run", "--graph", graph, "--fetch", "input:3"}),
               "fetch 'input:3': node 'input' (Placeholder) has 1 output");
  expect_error(run_poet({"inspect", graph, "--fetch", "input:5"}),
               "fetch 'input:5': node 'input' (Placeholder) has 1 output");
  // A computed node's index is named with its flag too, before inspect prints anything.
  const CliResult inspect = run_poet({"inspect", graph, "--fetch", fetch + ":7"});
  expect_error(inspect, "--fetch '" + fetch + ":7': node '" + fetch + "' (Reshape) has 1 output");
  EXPECT_EQ(inspect.out, "");
  // A constant has one output even where its attributes are bad (a value of another dtype),
  // which the run would never read once fed over.
  const std::string bad_const = (dir / "c.pbtxt").string();
  write_file_atomic(bad_const, R"(
    node { name: "c" op: "Const" attr { key: "dtype" value { type: DT_INT32 } }
           attr { key: "value" value { tensor { dtype: DT_FLOAT float_val: 1 } } } })");
  expect_error(run_poet({"run", "--graph", bad_const, "--feed", "c:1=" + (dir / "x.npy").string(),
                         "--fetch", "c:1"}),
               "--feed 'c:1': node 'c' (Const) has 1 output");
  expect_error(run_poet({"bench", "--graph", graph, "--input_layer", "input", "--fetch",
                         "MobilenetV1/Logits/Conv2d_1c_1x1/BiasAdd:1"}),
               "--fetch 'MobilenetV1/Logits/Conv2d_1c_1x1/BiasAdd:1': node "
               "'MobilenetV1/Logits/Conv2d_1c_1x1/BiasAdd' (BiasAdd) has 1 output");
}

// A graph exported for one image that fixes the batch of 1 inside (MobileNet's last Reshape to
// [1,1001] in the replica) takes a batch only image by image: the error says how.
TEST(CliErrors, ABatchAGraphFixesAtOneGetsAHint) {
  TempDir dir;
  write_file_atomic(dir / "g.pbtxt", R"(
    node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } }
           attr { key: "shape" value { shape { dim { size: 1 } dim { size: 4 } } } } }
    node { name: "s" op: "Const" attr { key: "dtype" value { type: DT_INT32 } }
           attr { key: "value" value { tensor { dtype: DT_INT32 tensor_shape { dim { size: 2 } }
                                                int_val: 1 int_val: 4 } } } }
    node { name: "y" op: "Reshape" input: "x" input: "s" attr { key: "T" value { type: DT_FLOAT } } }
  )");
  write_npy(dir / "x.npy", Tensor(DType::kFloat32, {3, 4}));
  auto run = [&](const std::string& split) {
    return run_poet({"run", "--graph", (dir / "g.pbtxt").string(), "--feed",
                     "x=" + (dir / "x.npy").string(), "--fetch", "y", "--threads", "2",
                     "--batch_split", split});
  };
  CliResult r = run("off");
  expect_error(r, "cannot reshape");
  EXPECT_NE(r.err.find("; the batch of 3 ran whole, and each image runs alone: the graph "
                       "fixes a batch of 1 there; --batch_split on runs the images one at a time"),
            std::string::npos)
      << r.err;
  r = run("on");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("y:0: float32 [3,4]"), std::string::npos) << r.out;
  // An error the first image alone meets too has nothing to do with the batch: no hint.
  write_file_atomic(dir / "g.pbtxt", R"(
    node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
    node { name: "s" op: "Const" attr { key: "dtype" value { type: DT_INT32 } }
           attr { key: "value" value { tensor { dtype: DT_INT32 tensor_shape { dim { size: 2 } }
                                                int_val: 1 int_val: 5 } } } }
    node { name: "y" op: "Reshape" input: "x" input: "s" attr { key: "T" value { type: DT_FLOAT } } }
  )");
  r = run("off");
  expect_error(r, "cannot reshape");
  EXPECT_EQ(r.err.find("the batch of 3"), std::string::npos) << r.err;
  // Nor for feeds of two batches (2 and 3): the first image of one with the whole of the other
  // broadcast, and the hint was given, though no batch split helps.
  write_file_atomic(dir / "g.pbtxt", R"(
    node { name: "a" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
    node { name: "b" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
    node { name: "y" op: "AddV2" input: "a" input: "b" attr { key: "T" value { type: DT_FLOAT } } }
  )");
  write_npy(dir / "a.npy", Tensor(DType::kFloat32, {2, 4}));
  r = run_poet({"run", "--graph", (dir / "g.pbtxt").string(), "--feed",
                "a=" + (dir / "a.npy").string(), "--feed", "b=" + (dir / "x.npy").string(),
                "--fetch", "y", "--batch_split", "off"});
  expect_error(r, "incompatible shapes for broadcasting: [2,4] and [3,4]");
  EXPECT_EQ(r.err.find("ran whole"), std::string::npos) << r.err;
}

// The hint is for a batch the graph fixes at 1: not for an error of one image's values (a NaN
// in the second image that a kept check finds, where the first image runs alone), and where a
// node may mix the images the split would be refused, so the hint says so, also with the split
// off (it suggested --batch_split on).
TEST(CliErrors, TheBatchHintIsForABatchOfOneOnly) {
  TempDir dir;
  write_file_atomic(dir / "g.pbtxt", R"(
    node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } }
           attr { key: "shape" value { shape { dim { size: -1 } dim { size: 4 } } } } }
    node { name: "c" op: "CheckNumerics" input: "x" attr { key: "T" value { type: DT_FLOAT } }
           attr { key: "message" value { s: "x" } } }
    node { name: "s" op: "Const" attr { key: "dtype" value { type: DT_INT32 } }
           attr { key: "value" value { tensor { dtype: DT_INT32 tensor_shape { dim { size: 2 } }
                                                int_val: 1 int_val: 4 } } } }
    node { name: "y" op: "Reshape" input: "c" input: "s" attr { key: "T" value { type: DT_FLOAT } } }
  )");
  write_npy(dir / "x.npy", Tensor::from_floats({3, 4}, std::vector<float>(12, 1.f)));
  std::vector<float> second_nan(12, 1.f);
  second_nan[5] = NAN;
  write_npy(dir / "nan.npy", Tensor::from_floats({3, 4}, second_nan));
  auto run = [&](const std::string& feed) {
    return run_poet({"run", "--graph", (dir / "g.pbtxt").string(), "--feed",
                     "x=" + (dir / feed).string(), "--fetch", "y", "--check_numerics",
                     "--batch_split", "off"});
  };
  CliResult r = run("nan.npy");
  expect_error(r, "Tensor had NaN values");
  EXPECT_EQ(r.err.find("ran whole"), std::string::npos) << r.err;
  // Declared [?,4], the reshape to [1,4] is not known to keep images apart.
  r = run("x.npy");
  expect_error(r, "cannot reshape");
  EXPECT_NE(r.err.find("fixes a batch of 1 there; feed one image at a time (no batch split: node "
                       "'y' (Reshape) may mix the images of a batch)"),
            std::string::npos)
      << r.err;
}

// RES past an int was cast to one (undefined), and said "expected an integer".
TEST(CliErrors, AReplicaSideOutOfRangeIsNamedWithTheRange) {
  for (const char* side : {"99999999999", "257", "31", "224.5", "-224"})
    expect_error(run_poet({"make-replica", "mobilenet_v1", "0.25", side, "m.pb"}),
                 std::string("RES: expected an integer in 32..256 (above, the 7x7 pool before the "
                             "logits leaves more than one position), got '") +
                     side + "'");
}

// Before the replica is built (seconds for Inception v3).
TEST(CliErrors, AReplicaPathThatCannotBeWrittenIsNamedBeforeTheBuild) {
  TempDir dir;
  expect_error(run_poet({"make-replica", "inception_v3", dir.path().string()}),
               "OUT.pb " + dir.path().string() + ": is a directory, not a file");
  write_file_atomic(dir / "file", "x");
  expect_error(
      run_poet({"make-replica", "mobilenet_v1", "1.0", "224", (dir / "file" / "m.pb").string()}),
      (dir / "file").string() + " is a file, not a directory");
}

TEST(CliErrors, BadBackendOpIsNamed) {
  expect_error(run_poet({"run", "--graph", "g.pb", "--fetch", "x", "--backend_op", "Conv2D"}),
               "--backend_op");
  expect_error(run_poet({"run", "--graph", "g.pb", "--fetch", "x", "--backend_op", "Conv2D=gpu"}),
               "Conv2D=gpu");
  expect_error(run_poet({"run", "--graph", "g.pb", "--fetch", "x", "--backend_op", "Conv9D=ref"}),
               "'Conv9D'");
}

// A repeated flag is an error (Flags), and so is an op given twice in --backend_op: the last
// was used silently.
TEST(CliErrors, AnOpGivenTwiceInBackendOpIsNamed) {
  expect_error(run_poet({"run", "--graph", "g.pb", "--fetch", "x", "--backend_op", "Conv2D=ref",
                         "--backend_op", "MatMul=ref", "--backend_op", "Conv2D=onednn"}),
               "--backend_op: op 'Conv2D' is given more than once (Conv2D=ref, then "
               "Conv2D=onednn)");
  expect_error(run_poet({"run", "--graph", "g.pb", "--fetch", "x", "--backend_op", "Conv2D=ref",
                         "--backend_op", "Conv2D=ref"}),
               "op 'Conv2D' is given more than once");
}

TEST(CliErrors, BadOnOffValuesAreNamed) {
  for (const char* flag : {"--winograd", "--fuse_depthwise"}) {
    CliResult r = run_poet({"run", "--graph", "g.pb", "--fetch", "x", flag, "yes"});
    expect_error(r, flag);
    EXPECT_NE(r.err.find("'yes'"), std::string::npos) << r.err;
  }
}

TEST(CliErrors, BadAutoOnOffValuesAreNamed) {
  for (const char* flag : {"--batch_split", "--layer_split", "--branches"}) {
    CliResult r = run_poet({"run", "--graph", "g.pb", "--fetch", "x", flag, "sometimes"});
    expect_error(r, flag);
    EXPECT_NE(r.err.find("'sometimes'"), std::string::npos) << r.err;
  }
}

// strtod reads "nan", "inf" and 1e999; a pixel scaling or a time of either is a mistake, and
// NaN pixels would come out of Relu as zeros, not as an error.
TEST(CliErrors, NumbersThatAreNotFiniteAreNamed) {
  POET_REQUIRE_FIXTURE(kMobileNet);
  POET_REQUIRE_FIXTURE("images/panda.jpg");
  const std::string graph = fixture(kMobileNet).string();
  const std::string labels = fixture("mobilenet_v1_0.25_128/labels.txt").string();
  const std::string image = fixture("images/panda.jpg").string();
  expect_error(run_poet({"label", "--graph", graph, "--labels", labels, "--output_layer",
                         "MobilenetV1/Predictions/Reshape_1", "--input_mean", "nan", image}),
               "--input_mean: expected a finite number, got 'nan'");
  expect_error(
      run_poet({"classify", "--graph", graph, "--labels", labels, "--input_std", "inf", image}),
      "--input_std: expected a finite number, got 'inf'");
  expect_error(run_poet({"bench", "--graph", graph, "--input_layer", "input", "--fetch",
                         "MobilenetV1/Predictions/Reshape_1", "--seconds", "1e999"}),
               "--seconds: expected a finite number, got '1e999'");
}

// strtod reads hexadecimal: --seconds 0x1 was one second. Decimal forms still read.
TEST(CliErrors, ANumberFlagIsDecimal) {
  for (const char* seconds : {"0x1", "0x1p-2", " 1", "1s", "--1"})
    expect_error(run_poet({"bench", "--graph", "g.pb", "--input_layer", "x", "--fetch", "y",
                           "--seconds", seconds}),
                 std::string("--seconds: expected a decimal number, got '") + seconds + "'");
  TempDir dir;
  const std::string graph = write_relu_graph(dir);
  for (const char* seconds : {"1e-3", "0.01", "+.02", "2E-2"}) {
    const CliResult r = run_poet({"bench", "--graph", graph, "--input_layer", "x", "--fetch", "y",
                                  "--threads", "1", "--seconds", seconds});
    EXPECT_EQ(r.exit_code, 0) << seconds << ": " << r.err;
  }
  // make-replica's DEPTH and RES took strtod's forms too.
  expect_error(run_poet({"make-replica", "mobilenet_v1", "0x1", "224", (dir / "m.pb").string()}),
               "DEPTH: expected a decimal number, got '0x1'");
}

// A tensor the graph lacks is named with its flag, before anything is printed or built: inspect
// printed half its report first, and run and bench said only "the graph has no node named".
TEST(CliErrors, ATensorFlagNamingNoNodeIsNamedWithItsFlag) {
  TempDir dir;
  const std::string graph = write_relu_graph(dir);
  const CliResult inspect = run_poet({"inspect", graph, "--fetch", "nosuch"});
  expect_error(inspect, "--fetch: no node 'nosuch' in " + graph);
  EXPECT_EQ(inspect.out, "");
  expect_error(run_poet({"run", "--graph", graph, "--fetch", "nosuch:0"}),
               "--fetch: no node 'nosuch' in " + graph);
  write_npy(dir / "x.npy", Tensor::from_floats({1, 4}, std::vector<float>{1, 2, 3, 4}));
  expect_error(run_poet({"run", "--graph", graph, "--feed", "z:0=" + (dir / "x.npy").string(),
                         "--fetch", "y"}),
               "--feed: no node 'z' in " + graph);
  expect_error(run_poet({"run", "--graph", graph, "--fetch", "y:x"}),
               "--fetch: bad tensor name 'y:x'");
  expect_error(run_poet({"bench", "--graph", graph, "--input_layer", "nosuch", "--fetch", "y"}),
               "--input_layer: no node 'nosuch' in " + graph);
  expect_error(run_poet({"bench", "--graph", graph, "--input_layer", "x", "--fetch", "z"}),
               "--fetch: no node 'z' in " + graph);
  // It said the fetch "does not depend on --input_layer 'x:1'".
  expect_error(run_poet({"bench", "--graph", graph, "--input_layer", "x:1", "--fetch", "y"}),
               "--input_layer 'x:1': node 'x' (Placeholder) has 1 output");
}

// As argparse's usage errors: the usage, and exit code 2.
TEST(CliErrors, AMissingOrUnknownCommandPrintsTheUsage) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{}, {"nosuch"}, {"--version"}}) {
    const CliResult r = run_poet(args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE((r.out + r.err).find("retrain"), std::string::npos) << r.out << r.err;
  }
  EXPECT_NE(run_poet({"nosuch"}).err.find("poet: unknown command 'nosuch'"), std::string::npos);
}

// Opening a named pipe waits for a writer: given as a graph, labels or a feed, poet hung for
// good. Like a device, it is refused by name.
TEST(CliErrors, APipeIsRefusedNotWaitedOn) {
  TempDir dir;
  const std::string fifo = (dir / "f").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const std::string refused = fifo + ": is not a regular file (a pipe, device or socket)";
  expect_error(run_poet({"inspect", fifo}), refused);
  const std::string text = (dir / "f.pbtxt").string();
  ASSERT_EQ(mkfifo(text.c_str(), 0600), 0);
  expect_error(run_poet({"inspect", text}), text + ": is not a regular file");
  const std::string graph = write_relu_graph(dir);
  write_file_atomic(dir / "x.jpg", "the labels are read first");
  expect_error(run_poet({"run", "--graph", graph, "--feed", "x=" + fifo, "--fetch", "y"}), refused);
  expect_error(run_poet({"label", "--graph", graph, "--labels", fifo, "--input_layer", "x",
                         "--output_layer", "y", "--image", (dir / "x.jpg").string()}),
               refused);
}

// A command's printout is its result: one that could not be written (stdout on a full disk)
// exited 0 with nothing written.
TEST(CliErrors, AResultThatCannotBeWrittenIsAnError) {
  TempDir dir;
  const CliResult r = run_poet({"inspect", write_relu_graph(dir)},
                               {"/bin/sh", "-c", "exec \"$@\" > /dev/full", "sh"});
  expect_error(r, "poet inspect: error: cannot write to standard output (No space left on device)");
}

// A write past the file-size limit (`ulimit -f`) is an error naming the file and the reason,
// with the old file kept and no temporary file left: SIGXFSZ had killed poet mid-write.
TEST(CliErrors, AWritePastTheFileSizeLimitIsAnErrorNotASignal) {
  TempDir dir;
  const std::string out = (dir / "rep.pb").string();
  const CliResult r = run_poet({"make-replica", "mobilenet_v1", "0.25", "128", out},
                               {"/usr/bin/prlimit", "--fsize=65536:65536", "--"});
  expect_error(r, out + ": write error (File too large)");
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(CliErrors, UnknownFlagIsNamed) {
  expect_error(run_poet({"run", "--grpah", "g.pb"}), "--grpah");
}

// TensorFlow's scripts read flags with argparse, which takes any beginning of a flag's name
// that no other flag shares (--how_many 10); a beginning two flags share is an error naming
// both.
TEST(CliErrors, AFlagMayBeShortenedWhereNoOtherBeginsTheSame) {
  TempDir dir;
  const std::string graph = write_relu_graph(dir);
  // --batch is whole, though --batch_split begins with it.
  const CliResult r = run_poet({"bench", "--gr", graph, "--input_l=x", "--fe", "y", "--thr", "1",
                                "--sec", "0.01", "--per", "--batch", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("images/s"), std::string::npos) << r.out;
  expect_error(
      run_poet({"bench", "--graph", graph, "--input_layer", "x", "--fetch", "y", "--ba", "2"}),
      "ambiguous flag '--ba': it begins --batch, --backend, --backend_op, --batch_split");
  // A shortened flag is still the flag, given once.
  expect_error(run_poet({"bench", "--graph", graph, "--input_layer", "x", "--fetch", "y",
                         "--threads", "1", "--thr", "2"}),
               "--threads is given more than once");
  expect_error(run_poet({"bench", "--graph", graph, "--input_layer", "x", "--fetch", "y", "--thr"}),
               "--threads: missing value");
  expect_error(
      run_poet({"bench", "--graph", graph, "--input_layer", "x", "--fetch", "y", "--per=maybe"}),
      "--per_layer: expected true or false, got 'maybe'");
}

// An argument run or retrain would not read is an error, not ignored; a boolean flag's value
// given apart ("--check_numerics false", which TensorFlow's flags read as two arguments too)
// gets a hint.
TEST(CliErrors, AStrayArgumentIsNamed) {
  expect_error(run_poet({"run", "--graph", "g.pb", "--fetch", "x", "y.npy"}),
               "unexpected argument 'y.npy' (poet run --help)");
  expect_error(run_poet({"run", "--graph", "g.pb", "--check_numerics", "false"}),
               "unexpected argument 'false'; a boolean flag takes its value after '=' "
               "(--name=false) or as --noname");
  expect_error(run_poet({"retrain", "--image_dir", "d", "extra"}), "unexpected argument 'extra'");
  expect_error(run_poet({"bench", "--graph", "g.pb", "--per_layer", "false"}),
               "unexpected argument 'false'; a boolean flag");
}

}  // namespace
}  // namespace poet::testing
