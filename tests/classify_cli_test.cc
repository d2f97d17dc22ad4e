// `poet classify` end to end: the built binary on a tiny graph written by the test, its error
// cases, and (slow) MobileNet v1 on the panda fixture.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "importers/tensorflow/graphdef.h"
#include "tests/cli_util.h"
#include "tests/fixtures.h"
#include "tests/image_test_util.h"
#include "tests/test_graph.h"

namespace poet::testing {
namespace {

// `poet classify ARGS`.
CliResult classify(std::vector<std::string> args) {
  args.insert(args.begin(), "classify");
  return run_poet(args);
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A "classifier" of 2x2 RGB images with 4 classes: class c scores the sum of channel c over
// the image (class 3 scores 0). Conv2D with a 2x2 VALID filter gives [1,1,1,4]. The input
// declares `shape`. With `behind_resize`, the input is "raw" and the classifier reads
// "resized", its ResizeBilinear to 2x2 (as Inception v3 2015 reads Mul:0).
void write_tiny_graph(const std::filesystem::path& path, Shape shape = {1, 2, 2, 3},
                      bool behind_resize = false) {
  TestGraph t;
  Endpoint in = t.placeholder(behind_resize ? "raw" : "input", PartialShape(std::move(shape)));
  if (behind_resize)
    in = t.op("resized", "ResizeBilinear",
              {in, t.constant("size", Tensor::from_ints({2}, std::vector<int32_t>{2, 2}))});
  std::vector<float> w(2 * 2 * 3 * 4, 0.f);
  for (int k = 0; k < 4; ++k)
    for (int c = 0; c < 3; ++c) w[(k * 3 + c) * 4 + c] = 1.f;
  t.op("scores", "Conv2D", {in, t.constant("filter", Tensor::from_floats({2, 2, 3, 4}, w))},
       {{"strides", std::vector<int64_t>{1, 1, 1, 1}}, {"padding", std::string("VALID")}});
  tf::write_graphdef(t.g, path);
}

// A 2x2 PNG whose every pixel is (r, g, b).
void write_png(const std::filesystem::path& path, uint8_t r, uint8_t g, uint8_t b) {
  PngSpec spec;
  spec.width = spec.height = 2;
  std::vector<uint8_t> row = {r, g, b, r, g, b};
  write_text(path, encode_png(spec, {row, row}));
}

class ClassifyCli : public ::testing::Test {
 protected:
  void SetUp() override {
    write_tiny_graph(dir_ / "tiny.pb");
    write_text(dir_ / "labels.txt", "red\ngreen\nblue\nnothing\n");
    write_png(dir_ / "greenish.png", 10, 200, 50);
  }
  // The tiny graph's flags, then `more`.
  std::vector<std::string> tiny_args(std::initializer_list<std::string> more) const {
    std::vector<std::string> args = {"--graph",        (dir_ / "tiny.pb").string(),
                                     "--labels",       (dir_ / "labels.txt").string(),
                                     "--input_layer",  "input",
                                     "--output_layer", "scores",
                                     "--input_mean",   "0",
                                     "--input_std",    "1"};
    args.insert(args.end(), more);
    return args;
  }
  TempDir dir_;
};

TEST_F(ClassifyCli, PrintsTopKBestFirst) {
  CliResult r = classify(tiny_args({"--top_k", "3", (dir_ / "greenish.png").string()}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // Sums over 4 pixels: green 800, blue 200, red 40.
  EXPECT_EQ(r.out, "green (score = 800.00000)\nblue (score = 200.00000)\nred (score = 40.00000)\n");
}

TEST_F(ClassifyCli, SeveralImagesGetOneBlockEach) {
  write_png(dir_ / "blue.png", 0, 0, 1);
  std::string a = (dir_ / "greenish.png").string(), b = (dir_ / "blue.png").string();
  CliResult r = classify(tiny_args({"--top_k", "1", a, b}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, a + ":\ngreen (score = 800.00000)\n\n" + b + ":\nblue (score = 4.00000)\n");
}

// More images than a run takes (kImagesPerRun, 8), run several at a time, image by image
// across the threads: each block is its own image's, in order, as when run one at a time.
TEST_F(ClassifyCli, ManyImagesGetTheirOwnScoresInOrder) {
  std::vector<std::string> args = tiny_args({"--top_k", "1"}), paths;
  std::string want;
  const char* names[] = {"red", "green", "blue"};
  for (int i = 0; i < 11; ++i) {
    paths.push_back((dir_ / str_cat(i, ".png")).string());
    const int c = i % 3;  // the class that wins, scoring 4 x (10 + i)
    write_png(paths.back(), c == 0 ? 10 + i : 1, c == 1 ? 10 + i : 1, c == 2 ? 10 + i : 1);
    args.push_back(paths.back());
    want += str_cat(i > 0 ? "\n" : "", paths.back(), ":\n", names[c], " (score = ", 4 * (10 + i),
                    ".00000)\n");
  }
  CliResult r = classify(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, want);

  // An unreadable image in the middle of a run: those before it are shown, then its error.
  write_text(paths[5], "not an image");
  CliResult broken = classify(args);
  EXPECT_NE(broken.exit_code, 0);
  EXPECT_NE(broken.err.find(paths[5]), std::string::npos) << broken.err;
  EXPECT_EQ(broken.out, want.substr(0, want.find("\n" + paths[5])));
}

// A folder stands for its images, sorted by name; other files in it are left out, and a
// folder without images is an error naming it (before the graph loads).
TEST_F(ClassifyCli, AFolderGivesOneBlockPerImageInIt) {
  std::filesystem::create_directories(dir_ / "photos" / "nested");
  write_png(dir_ / "photos" / "b.png", 0, 0, 1);
  write_png(dir_ / "photos" / "a.PNG", 1, 0, 0);
  write_png(dir_ / "photos" / "nested" / "c.png", 0, 1, 0);
  write_text(dir_ / "photos" / "notes.txt", "not an image");
  std::string a = (dir_ / "photos" / "a.PNG").string(), b = (dir_ / "photos" / "b.png").string();
  CliResult r = classify(tiny_args({"--top_k", "1", (dir_ / "photos").string()}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, a + ":\nred (score = 4.00000)\n\n" + b + ":\nblue (score = 4.00000)\n");

  std::filesystem::create_directories(dir_ / "empty");
  r = classify(tiny_args({(dir_ / "empty").string()}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find((dir_ / "empty").string() + ": no .jpg, .jpeg or .png files"),
            std::string::npos)
      << r.err;
}

TEST_F(ClassifyCli, WithoutLabelsPrintsIndices) {
  CliResult r = classify({"--graph", (dir_ / "tiny.pb").string(), "--input_layer", "input",
                          "--output_layer", "scores", "--input_mean", "0", "--input_std", "1",
                          "--top_k", "1", (dir_ / "greenish.png").string()});
  EXPECT_EQ(r.out, "1 (score = 800.00000)\n");
}

TEST_F(ClassifyCli, AnInputThatLeavesItsShapeOpenTakesTheImageSize) {
  write_tiny_graph(dir_ / "tiny.pb", {-1, -1, -1, 3});
  CliResult r =
      classify(tiny_args({"--top_k", "1", "--input_size", "2", (dir_ / "greenish.png").string()}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "green (score = 800.00000)\n");
}

// A tensor that is not a Placeholder takes the size shape inference gives it: the 2x2 of the
// resize before it (where a Placeholder's declared shape was all that counted before).
TEST_F(ClassifyCli, AnInputBehindAResizeTakesTheResizedSize) {
  write_tiny_graph(dir_ / "resized.pb", {1, 7, 7, 3}, /*behind_resize=*/true);
  std::vector<std::string> args = tiny_args({"--top_k", "1", (dir_ / "greenish.png").string()});
  args[1] = (dir_ / "resized.pb").string();
  args[5] = "resized";
  CliResult r = classify(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "green (score = 800.00000)\n");
}

// A graph that normalises its own decoded image, as Inception v3 2015's Sub and Mul (a graph
// converted from TF.js holds 0 and 1/255 there): fed at Mul:0, classify and label take those
// constants, as retrain does, not their defaults (127.5 and 128).
TEST_F(ClassifyCli, AnInputAfterTheGraphsOwnSubAndMulTakesTheirConstants) {
  TestGraph t;
  Endpoint raw = t.placeholder("raw", PartialShape(Shape{1, 2, 2, 3}));
  Endpoint sub = t.op("Sub", "Sub",
                      {raw, t.constant("Sub/y", Tensor::from_floats({}, std::vector<float>{0.f}))});
  Endpoint mul =
      t.op("Mul", "Mul",
           {sub, t.constant("Mul/y", Tensor::from_floats({}, std::vector<float>{1.f / 255}))});
  t.op("scores", "Mean",
       {mul, t.constant("axes", Tensor::from_ints({2}, std::vector<int32_t>{1, 2}))});
  tf::write_graphdef(t.g, dir_ / "norm.pb");
  write_text(dir_ / "rgb.txt", "red\ngreen\nblue\n");
  const std::string graph = (dir_ / "norm.pb").string(), labels = (dir_ / "rgb.txt").string();
  const std::string image = (dir_ / "greenish.png").string();  // (10, 200, 50)
  CliResult r = classify({"--graph", graph, "--labels", labels, "--input_layer", "Mul",
                          "--output_layer", "scores", "--top_k", "2", image});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "green (score = 0.78431)\nblue (score = 0.19608)\n");
  r = run_poet({"label", "--graph", graph, "--labels", labels, "--input_layer", "Mul",
                "--output_layer", "scores", "--top_k", "1", image});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("green 0.7843", 0), 0u) << r.out;
  // Flags still win.
  r = classify({"--graph", graph, "--labels", labels, "--input_layer", "Mul", "--output_layer",
                "scores", "--top_k", "1", "--input_mean", "0", "--input_std", "1", image});
  EXPECT_EQ(r.out, "green (score = 200.00000)\n") << r.err;
}

TEST_F(ClassifyCli, AnImageSizeTheInputDoesNotTakeIsAnErrorNamingIt) {
  CliResult r = classify(tiny_args({"--input_size", "3", (dir_ / "greenish.png").string()}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("input"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[1,3,3,3]"), std::string::npos) << r.err;
}

TEST_F(ClassifyCli, MissingImageIsAnErrorNamingIt) {
  std::string missing = (dir_ / "no_such_picture.jpg").string();
  CliResult r = classify(tiny_args({missing}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;
}

TEST_F(ClassifyCli, CorruptImageIsAnErrorNamingIt) {
  write_text(dir_ / "broken.png", "\x89PNG\r\n\x1a\n garbage");
  CliResult r = classify(tiny_args({(dir_ / "broken.png").string()}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("broken.png"), std::string::npos) << r.err;
}

TEST_F(ClassifyCli, FlagErrors) {
  std::string image = (dir_ / "greenish.png").string();
  CliResult no_graph = classify({image});
  EXPECT_NE(no_graph.exit_code, 0);
  EXPECT_NE(no_graph.err.find("--graph"), std::string::npos) << no_graph.err;
  CliResult unknown = classify({"--graph", (dir_ / "tiny.pb").string(), image});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("--input_layer"), std::string::npos) << unknown.err;
  CliResult bad_k = classify(tiny_args({"--top_k", "0", image}));
  EXPECT_NE(bad_k.err.find("--top_k"), std::string::npos) << bad_k.err;
  CliResult no_image = classify(tiny_args({}));
  EXPECT_NE(no_image.exit_code, 0);
  EXPECT_NE(no_image.err.find("IMAGE"), std::string::npos) << no_image.err;
  CliResult both = classify(tiny_args({"--label_map", "m.pbtxt", image}));
  EXPECT_NE(both.err.find("--label_map"), std::string::npos) << both.err;
  // A value that is finite as a double but not as a float, or whose 1/std overflows one.
  std::vector<std::string> args = tiny_args({image});
  args[9] = "1e40";  // --input_mean
  CliResult huge = classify(args);
  EXPECT_NE(huge.err.find("--input_mean: 1e40 is beyond the range of a float"), std::string::npos)
      << huge.err;
  args = tiny_args({image});
  args[11] = "1e-45";  // --input_std
  CliResult tiny = classify(args);
  EXPECT_NE(tiny.err.find("--input_std: 1e-45 is too small"), std::string::npos) << tiny.err;
  // A pipe or device is not an image file, though it exists.
  CliResult device = classify(tiny_args({"/dev/null"}));
  EXPECT_NE(device.err.find("/dev/null: not a regular file or a folder"), std::string::npos)
      << device.err;
}

// A labels file for another graph printed blank names (or the wrong ones) with exit 0.
TEST_F(ClassifyCli, LabelsThatDoNotFitTheScoresAreAnError) {
  write_text(dir_ / "three.txt", "red\ngreen\nblue\n");
  std::vector<std::string> args = tiny_args({(dir_ / "greenish.png").string()});
  args[3] = (dir_ / "three.txt").string();
  CliResult r = classify(args);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--labels " + args[3] + ": 3 labels, but 'scores:0' gives 4 scores"),
            std::string::npos)
      << r.err;
  // The Inception pair may leave classes unnamed, but not name classes the graph lacks.
  write_text(dir_ / "map.pbtxt", "entry {\n  target_class: 7\n  target_class_string: \"n7\"\n}\n");
  write_text(dir_ / "synsets.txt", "n7\tseven\n");
  args.erase(args.begin() + 2, args.begin() + 4);
  args.insert(args.begin(), {"--label_map", (dir_ / "map.pbtxt").string(), "--synsets",
                             (dir_ / "synsets.txt").string()});
  r = classify(args);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--label_map: classes up to 7, but 'scores:0' gives 4 scores"),
            std::string::npos)
      << r.err;
}

// Scores [nan, 1, nan, inf, -inf, 2] whatever the 2x2 image: Mean(input) * 0 + constant.
// Six fixed scores, whatever the image: `values` are their float_val fields.
std::string fixed_scores_graph(std::string_view values) {
  return R"(
node { name: "input" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } }
  attr { key: "shape" value { shape { dim { size: 1 } dim { size: 2 } dim { size: 2 } dim { size: 3 } } } } }
node { name: "axes" op: "Const" attr { key: "dtype" value { type: DT_INT32 } }
  attr { key: "value" value { tensor { dtype: DT_INT32 tensor_shape { dim { size: 3 } } int_val: 1 int_val: 2 int_val: 3 } } } }
node { name: "mean" op: "Mean" input: "input" input: "axes" attr { key: "T" value { type: DT_FLOAT } }
  attr { key: "Tidx" value { type: DT_INT32 } } attr { key: "keep_dims" value { b: true } } }
node { name: "zero" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }
  attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape { } float_val: 0 } } } }
node { name: "nothing" op: "Mul" input: "mean" input: "zero" attr { key: "T" value { type: DT_FLOAT } } }
node { name: "s" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }
  attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape { dim { size: 1 } dim { size: 6 } }
    )" + std::string(values) +
         R"( } } } }
node { name: "shape" op: "Const" attr { key: "dtype" value { type: DT_INT32 } }
  attr { key: "value" value { tensor { dtype: DT_INT32 tensor_shape { dim { size: 2 } } int_val: 1 int_val: 1 } } } }
node { name: "flat" op: "Reshape" input: "nothing" input: "shape" attr { key: "T" value { type: DT_FLOAT } } }
node { name: "scores" op: "Add" input: "flat" input: "s" attr { key: "T" value { type: DT_FLOAT } } }
)";
}

// NaN compares false with everything: the ranking was no ordering (undefined behaviour for
// partial_sort) and put NaNs anywhere. They now rank last, and print as the scripts print
// them: "nan" (C's printf says "-nan" for a NaN with its sign bit set).
TEST_F(ClassifyCli, NanScoresRankLastAndPrintAsTheScriptsDo) {
  write_text(dir_ / "nan.pbtxt",
             fixed_scores_graph("float_val: nan float_val: 1 float_val: -nan float_val: inf "
                                "float_val: -inf float_val: 2"));
  write_text(dir_ / "six.txt", "a\nb\nc\nd\ne\nf\n");
  const std::string graph = (dir_ / "nan.pbtxt").string(), image = (dir_ / "greenish.png").string();
  CliResult r = classify({"--graph", graph, "--input_layer", "input", "--output_layer", "scores",
                          "--top_k", "6", image});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "3 (score = inf)\n5 (score = 2.00000)\n1 (score = 1.00000)\n4 (score = -inf)\n"
            "0 (score = nan)\n2 (score = nan)\n");
  r = run_poet({"label", "--graph", graph, "--labels", (dir_ / "six.txt").string(), "--input_layer",
                "input", "--output_layer", "scores", "--top_k", "6", image});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "d inf\nf 2.0\nb 1.0\ne -inf\na nan\nc nan\n");
}

// label prints numpy's str() of each float32: its shortest digits, scientific below 1e-4 (as
// doubles: float32(1e-4) is below) and from 1e16, positional with zeros after the digits.
TEST_F(ClassifyCli, LabelPrintsScoresAsNumpyDoes) {
  write_text(dir_ / "fixed.pbtxt",
             fixed_scores_graph("float_val: 1e-4 float_val: 123456792 float_val: 1e16 "
                                "float_val: 1.5e-5 float_val: 0.5 float_val: 100.25"));
  write_text(dir_ / "six.txt", "a\nb\nc\nd\ne\nf\n");
  CliResult r = run_poet({"label", "--graph", (dir_ / "fixed.pbtxt").string(), "--labels",
                          (dir_ / "six.txt").string(), "--input_layer", "input", "--output_layer",
                          "scores", "--top_k", "6", (dir_ / "greenish.png").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "c 1e+16\nb 123456790.0\nf 100.25\ne 0.5\na 1e-04\nd 1.5e-05\n");
}

// A graph that decodes its JPEG itself, as Inception v3 2015 and the graphs retrained from it
// (which keep DecodeJpeg/contents and add final_result): the scores are the channels' means.
// Inception v3 2015's DecodeJpeg/contents is a Const holding an empty string, which
// classify_image.py feeds over; a graph written by another tool may make it a Placeholder.
std::string jpeg_graph(bool contents_placeholder) {
  const std::string contents =
      contents_placeholder ? R"(op: "Placeholder" attr { key: "shape" value { shape { } } })"
                           : R"(op: "Const" attr { key: "value" value { tensor { dtype: DT_STRING
                 tensor_shape { } string_val: "" } } })";
  return R"(node { name: "DecodeJpeg/contents" )" + contents +
         R"( attr { key: "dtype" value { type: DT_STRING } } }
node { name: "DecodeJpeg" op: "DecodeJpeg" input: "DecodeJpeg/contents"
  attr { key: "channels" value { i: 3 } } }
node { name: "Cast" op: "Cast" input: "DecodeJpeg" attr { key: "SrcT" value { type: DT_UINT8 } }
  attr { key: "DstT" value { type: DT_FLOAT } } }
node { name: "axes" op: "Const" attr { key: "dtype" value { type: DT_INT32 } }
  attr { key: "value" value { tensor { dtype: DT_INT32 tensor_shape { dim { size: 2 } } int_val: 0 int_val: 1 } } } }
node { name: "final_result" op: "Mean" input: "Cast" input: "axes" attr { key: "T" value { type: DT_FLOAT } }
  attr { key: "Tidx" value { type: DT_INT32 } } attr { key: "keep_dims" value { b: false } } }
)";
}

// A graph that decodes its JPEG itself (Inception v3 2015, or one retrained from it, which keeps
// DecodeJpeg/contents and adds final_result): a corrupt file fails inside the run, and the error
// named the node, not the file. The image flags do nothing there, and are refused.
TEST_F(ClassifyCli, AGraphDecodingItsJpegNamesTheFileAndRefusesImageFlags) {
  const std::string jpeg = encode_uniform_jpeg(8, 8, {10, 200, 50});
  write_text(dir_ / "good.jpg", jpeg);
  write_text(dir_ / "cut.jpg", jpeg.substr(0, jpeg.size() / 2));
  const std::string graph = (dir_ / "inception.pbtxt").string();
  for (bool contents_placeholder : {false, true}) {
    SCOPED_TRACE(contents_placeholder ? "Placeholder" : "Const");
    write_text(graph, jpeg_graph(contents_placeholder));
    CliResult r = classify({"--graph", graph, "--top_k", "1", (dir_ / "good.jpg").string(),
                            (dir_ / "cut.jpg").string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.out.find("good.jpg:\n1 (score = "), std::string::npos) << r.out;
    EXPECT_NE(r.err.find((dir_ / "cut.jpg").string() +
                         ": node 'DecodeJpeg' (DecodeJpeg): invalid JPEG data"),
              std::string::npos)
        << r.err;
    for (const char* flag : {"--input_size", "--input_mean", "--input_std"}) {
      r = classify({"--graph", graph, flag, "1", (dir_ / "good.jpg").string()});
      EXPECT_EQ(r.exit_code, 1);
      EXPECT_NE(r.err.find(std::string(flag) + ": " + graph +
                           " decodes, resizes and normalises the JPEG itself"),
                std::string::npos)
          << r.err;
      // Not "with --input_mean 128 --input_std 128": a converted graph's constants differ.
      EXPECT_NE(r.err.find("Mul:0, where the graph's own Sub and Mul constants are the defaults"),
                std::string::npos)
          << r.err;
    }
  }
}

// The first retrain.py's label_image fed a graph retrained on Inception v3 the JPEG's bytes at
// DecodeJpeg/contents:0; poet label fed it floats ("the graph expects string").
TEST_F(ClassifyCli, LabelFeedsAStringInputTheJpegBytes) {
  write_text(dir_ / "good.jpg", encode_uniform_jpeg(8, 8, {10, 200, 50}));
  write_png(dir_ / "blue.png", 10, 20, 250);
  write_text(dir_ / "rgb.txt", "red\ngreen\nblue\n");
  const std::string graph = (dir_ / "inception.pbtxt").string();
  auto label = [&](std::initializer_list<std::string> more) {
    std::vector<std::string> args = {"label",
                                     "--graph",
                                     graph,
                                     "--labels",
                                     (dir_ / "rgb.txt").string(),
                                     "--input_layer",
                                     "DecodeJpeg/contents"};
    args.insert(args.end(), more);
    args.push_back((dir_ / "good.jpg").string());
    return run_poet(args);
  };
  for (bool contents_placeholder : {false, true}) {
    SCOPED_TRACE(contents_placeholder ? "Placeholder" : "Const");
    write_text(graph, jpeg_graph(contents_placeholder));
    CliResult r = label({"--top_k", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.rfind("green ", 0), 0u) << r.out;
    // A PNG too: TensorFlow's DecodeJpeg decodes either format.
    r = run_poet({"label", "--graph", graph, "--labels", (dir_ / "rgb.txt").string(),
                  "--input_layer", "DecodeJpeg/contents", "--top_k", "1",
                  (dir_ / "blue.png").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.rfind("blue ", 0), 0u) << r.out;
    r = label({"--input_height", "8"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("--input_height: "), std::string::npos) << r.err;
  }
  // An unknown node names the flag and the graph file.
  CliResult r = label({"--output_layer", "scores"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--output_layer: no node 'scores' in " + graph), std::string::npos) << r.err;
}

// classify_image.py's flags: --model_dir holds the unpacked 2015 archive (its graph, label map,
// synsets and cropped_panda.jpg, each used where no flag names another), --image_file and
// --num_top_predictions. poet knew none of them.
TEST_F(ClassifyCli, ClassifyImagePyFlagsAndItsModelDir) {
  const std::filesystem::path model = dir_ / "imagenet";
  std::filesystem::create_directories(model);
  tf::write_graphdef(tf::import_graphdef(tf::parse_graphdef(jpeg_graph(false), true, "jpeg")),
                     model / "classify_image_graph_def.pb");
  write_text(model / "imagenet_2012_challenge_label_map_proto.pbtxt",
             "entry {\n  target_class: 1\n  target_class_string: \"n001\"\n}\n"
             "entry {\n  target_class: 2\n  target_class_string: \"n002\"\n}\n");
  write_text(model / "imagenet_synset_to_human_label_map.txt", "n001\tgreen thing\nn002\tblue\n");
  write_text(model / "cropped_panda.jpg", encode_uniform_jpeg(8, 8, {10, 200, 50}));
  write_png(dir_ / "blue.png", 10, 20, 250);

  CliResult r = classify({"--model_dir", model.string(), "--num_top_predictions", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("green thing (score = ", 0), 0u) << r.out;
  r = classify({"--model_dir", model.string(), "--image_file", (dir_ / "blue.png").string(),
                "--top_k", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;
  EXPECT_EQ(r.out.rfind("blue (score = ", 0), 0u) << r.out;

  const std::string none = (dir_ / "none").string();
  r = classify({"--model_dir", none});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(
      r.err.find("no --graph given, and no " + none + "/classify_image_graph_def.pb (--model_dir " +
                 none + "). poet cannot download models"),
      std::string::npos)
      << r.err;
  r = classify({"--model_dir", model.string(), "--top_k", "1", "--num_top_predictions", "2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--num_top_predictions is classify_image.py's name for --top_k"),
            std::string::npos)
      << r.err;
}

// retrain.py keeps a MobileNet up to its bottleneck (MobilenetV1/Predictions/Reshape) and adds
// final_result; the preset took only graphs with the original softmax (Reshape_1).
TEST_F(ClassifyCli, AGraphRetrainedByRetrainPyIsAPreset) {
  POET_REQUIRE_FIXTURE("poets_retrained/retrained_graph.pb");
  CliResult r = classify({"--graph", fixture("poets_retrained/retrained_graph.pb").string(),
                          "--labels", fixture("poets_retrained/retrained_labels.txt").string(),
                          "--top_k", "6", fixture("images/panda.jpg").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("61326 ok front (score = "), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 6) << r.out;
}

TEST(ClassifySlow, MobileNetSaysLesserPanda) {
  POET_REQUIRE_FIXTURE("mobilenet_v1_0.25_128/frozen_graph.pb");
  POET_REQUIRE_FIXTURE("images/panda.jpg");
  CliResult r = classify({"--graph", fixture("mobilenet_v1_0.25_128/frozen_graph.pb").string(),
                          "--labels", fixture("mobilenet_v1_0.25_128/labels.txt").string(),
                          fixture("images/panda.jpg").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("lesser panda, red panda", 0), 0u) << r.out;
}

}  // namespace
}  // namespace poet::testing
