// `poet classify` end to end: the built binary on a tiny graph written by the test, its error
// cases, and (slow) MobileNet v1 on the panda fixture.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "importers/tensorflow/graphdef.h"
#include "tests/fixtures.h"
#include "tests/image_test_util.h"

namespace poet::testing {
namespace {

struct Result {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

Result poet(const std::string& args) {
  Result r;
  std::string command = std::string(POET_BINARY) + " classify " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return r;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) r.output.append(buffer, n);
  int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A "classifier" of 2x2 RGB images with 4 classes: class c scores the sum of channel c over
// the image (class 3 scores 0). Conv2D with a 2x2 VALID filter gives [1,1,1,4].
void write_tiny_graph(const std::filesystem::path& path) {
  Graph g;
  Node input;
  input.name = "input";
  input.op = "Placeholder";
  input.attrs["dtype"] = DType::kFloat32;
  input.attrs["shape"] = PartialShape(Shape{1, 2, 2, 3});
  int in = g.add(std::move(input));
  std::vector<float> w(2 * 2 * 3 * 4, 0.f);
  for (int k = 0; k < 4; ++k)
    for (int c = 0; c < 3; ++c) w[(k * 3 + c) * 4 + c] = 1.f;
  Node filter;
  filter.name = "filter";
  filter.op = "Const";
  filter.attrs["dtype"] = DType::kFloat32;
  filter.attrs["value"] = Tensor::from_floats({2, 2, 3, 4}, w);
  int f = g.add(std::move(filter));
  Node conv;
  conv.name = "scores";
  conv.op = "Conv2D";
  conv.inputs = {{in, 0}, {f, 0}};
  conv.attrs["T"] = DType::kFloat32;
  conv.attrs["strides"] = std::vector<int64_t>{1, 1, 1, 1};
  conv.attrs["padding"] = std::string("VALID");
  g.add(std::move(conv));
  tf::write_graphdef(tf::export_graphdef(g), path);
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
  std::string tiny_args() const {
    return "--graph " + (dir_ / "tiny.pb").string() + " --labels " +
           (dir_ / "labels.txt").string() +
           " --input_layer input --output_layer scores --input_mean 0 --input_std 1 ";
  }
  TempDir dir_;
};

TEST_F(ClassifyCli, PrintsTopKBestFirst) {
  Result r = poet(tiny_args() + "--top_k 3 " + (dir_ / "greenish.png").string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // Sums over 4 pixels: green 800, blue 200, red 40.
  EXPECT_EQ(r.output,
            "green (score = 800.00000)\nblue (score = 200.00000)\nred (score = 40.00000)\n");
}

TEST_F(ClassifyCli, SeveralImagesGetOneBlockEach) {
  write_png(dir_ / "blue.png", 0, 0, 1);
  std::string a = (dir_ / "greenish.png").string(), b = (dir_ / "blue.png").string();
  Result r = poet(tiny_args() + "--top_k 1 " + a + " " + b);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, a + ":\ngreen (score = 800.00000)\n\n" + b + ":\nblue (score = 4.00000)\n");
}

TEST_F(ClassifyCli, WithoutLabelsPrintsIndices) {
  Result r = poet("--graph " + (dir_ / "tiny.pb").string() +
                  " --input_layer input --output_layer scores --input_mean 0 --input_std 1"
                  " --top_k 1 " +
                  (dir_ / "greenish.png").string());
  EXPECT_EQ(r.output, "1 (score = 800.00000)\n");
}

TEST_F(ClassifyCli, MissingImageIsAnErrorNamingIt) {
  std::string missing = (dir_ / "no_such_picture.jpg").string();
  Result r = poet(tiny_args() + missing);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find(missing), std::string::npos) << r.output;
}

TEST_F(ClassifyCli, CorruptImageIsAnErrorNamingIt) {
  write_text(dir_ / "broken.png", "\x89PNG\r\n\x1a\n garbage");
  Result r = poet(tiny_args() + (dir_ / "broken.png").string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("broken.png"), std::string::npos) << r.output;
}

TEST_F(ClassifyCli, FlagErrors) {
  std::string image = (dir_ / "greenish.png").string();
  Result no_graph = poet(image);
  EXPECT_NE(no_graph.exit_code, 0);
  EXPECT_NE(no_graph.output.find("--graph"), std::string::npos) << no_graph.output;
  Result unknown = poet("--graph " + (dir_ / "tiny.pb").string() + " " + image);
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.output.find("--input_layer"), std::string::npos) << unknown.output;
  Result bad_k = poet(tiny_args() + "--top_k 0 " + image);
  EXPECT_NE(bad_k.output.find("--top_k"), std::string::npos) << bad_k.output;
  Result no_image = poet(tiny_args());
  EXPECT_NE(no_image.exit_code, 0);
  EXPECT_NE(no_image.output.find("IMAGE"), std::string::npos) << no_image.output;
  Result both = poet(tiny_args() + "--label_map m.pbtxt " + image);
  EXPECT_NE(both.output.find("--label_map"), std::string::npos) << both.output;
}

TEST(ClassifySlow, MobileNetSaysLesserPanda) {
  POET_REQUIRE_FIXTURE("mobilenet_v1_0.25_128/frozen_graph.pb");
  POET_REQUIRE_FIXTURE("images/panda.jpg");
  Result r = poet("--graph " + fixture("mobilenet_v1_0.25_128/frozen_graph.pb").string() +
                  " --labels " + fixture("mobilenet_v1_0.25_128/labels.txt").string() + " " +
                  fixture("images/panda.jpg").string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.rfind("lesser panda, red panda", 0), 0u) << r.output;
}

}  // namespace
}  // namespace poet::testing
