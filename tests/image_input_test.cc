// Image preprocessing for classification graphs: decode, resize (legacy grid), normalise.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>

#include "engine/executor.h"
#include "engine/image_input.h"
#include "kernels/ref/resize_bilinear.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"
#include "tests/image_test_util.h"
#include "tests/kernel_test_util.h"
#include "tests/op_test_util.h"
#include "tests/test_graph.h"

namespace poet::testing {
namespace {

using ::poet::testing::expect_error;

TEST(ImageInput, ResizesAndNormalises) {
  // 1x2 image (0,0,0) (255,255,255) resized to 1x4 with the legacy grid: 0, 127.5, 255, 255.
  Tensor image(DType::kUInt8, {1, 2, 3});
  auto d = image.data<uint8_t>();
  std::fill(d.begin() + 3, d.end(), 255);
  Tensor out = preprocess_image(image, {.height = 1, .width = 4, .mean = 127.5f, .std = 127.5f});
  EXPECT_EQ(out.shape(), (Shape{1, 1, 4, 3}));
  std::vector<float> want = {-1, -1, -1, 0, 0, 0, 1, 1, 1, 1, 1, 1};
  auto got = out.data<float>();
  for (size_t i = 0; i < want.size(); ++i) EXPECT_FLOAT_EQ(got[i], want[i]) << i;
}

TEST(ImageInput, PreprocessesIntoOneImagesPlaceInABatch) {
  Tensor image(DType::kUInt8, {3, 5, 3});
  std::mt19937 rng(1);
  for (uint8_t& v : image.data<uint8_t>()) v = static_cast<uint8_t>(rng());
  const ImageInputSpec spec{.height = 4, .width = 2, .mean = 100, .std = 50};
  std::vector<float> batch(2 * 4 * 2 * 3, -7.f);
  preprocess_image(image, spec, std::span(batch).subspan(24));
  EXPECT_EQ(std::vector<float>(batch.begin(), batch.begin() + 24), std::vector<float>(24, -7.f));
  EXPECT_EQ(std::vector<float>(batch.begin() + 24, batch.end()),
            floats(preprocess_image(image, spec)));
  expect_error([&] { preprocess_image(image, spec, std::span(batch)); },
               "48 floats for a 4x2 image");
}

TEST(ImageInput, ShapeFillsWhatTheGraphLeavesOpen) {
  const ImageInputSpec spec{.height = 128, .width = 96};
  EXPECT_EQ(image_input_shape(PartialShape::unknown(), spec).dims, (Shape{1, 128, 96, 3}));
  EXPECT_EQ(image_input_shape(PartialShape({-1, 299, 299, 3}), spec).dims, (Shape{1, 299, 299, 3}));
  EXPECT_EQ(image_input_shape(PartialShape({-1, -1, -1, -1}), spec).dims, (Shape{1, 128, 96, 3}));
  // What the graph fixes stays, for the run to report the mismatch.
  EXPECT_EQ(image_input_shape(PartialShape({2, 224, -1, 3}), spec).dims, (Shape{2, 224, 96, 3}));
  EXPECT_EQ(image_input_shape(PartialShape({-1, 5}), spec).dims, (Shape{-1, 5}));
}

// Why label and classify give the executable that shape: with the batch left open, it plans its
// activation arena only after a first run (and infers every step's shapes at each run).
TEST(ImageInput, AGraphWithAnOpenBatchBuiltForTheImageGetsItsArena) {
  TestGraph t;
  const PartialShape declared({-1, 4, 4, 3});
  const Endpoint x = t.placeholder("x", declared);
  const Endpoint minus = t.constant("minus", floats({}, {-1.f}));
  t.op("y", "Mul", {t.op("r", "Relu", {x}), minus});
  ExecOptions options;
  options.threads = 1;
  options.optimize = false;  // keeps Relu a step of its own, whose output the arena holds
  EXPECT_EQ(Executable(t.g, {"x:0"}, {"y:0"}, options).arena_sizes().bytes, 0);
  options.feed_shapes["x:0"] = image_input_shape(declared, {.height = 4, .width = 4});
  Executable exe(t.g, {"x:0"}, {"y:0"}, options);
  EXPECT_GE(exe.arena_sizes().bytes, 4 * 4 * 3 * 4);
  const std::vector<Tensor> feed = {floats({1, 4, 4, 3}, std::vector<float>(48, 2.f))};
  EXPECT_EQ(floats(exe.run(feed)[0]), std::vector<float>(48, -2.f));
}

// The resize runs on the fast kernels, or on the reference straight from the bytes for an image
// much larger than the input (20x15 here): every ISA gives the reference's bits, up and down, so
// a cached bottleneck does not depend on the machine's ISA through its input.
TEST(ImageInput, ResizeGivesTheReferencesBitsOnEveryIsa) {
  Tensor image(DType::kUInt8, {37, 53, 3});
  std::mt19937 rng(3);
  for (uint8_t& v : image.data<uint8_t>()) v = static_cast<uint8_t>(rng());
  for (auto [h, w] : {std::pair<int64_t, int64_t>{128, 128}, {299, 301}, {20, 15}}) {
    std::vector<float> want(h * w * 3);
    kernels::ref::resize_bilinear(
        kernels::ref::ResizeShape{1, 37, 53, 3, h, w}, kernels::ref::ResizeGrid::kLegacy,
        std::span<const uint8_t>(image.data<uint8_t>()), std::span<float>(want));
    for (kernels::x86::Isa isa : kernels::x86::available_isas()) {
      kernels::x86::force_isa(isa);
      std::vector<float> got(want.size());
      resize_image(image, h, w, got);
      EXPECT_EQ(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)), 0)
          << kernels::x86::isa_name(isa) << " " << h << "x" << w;
    }
  }
  kernels::x86::force_isa(std::nullopt);
}

// A large photo is resized as it decodes, keeping only the rows the resize reads: the bits
// must be those of the whole image resized, for JPEG and for plain, interlaced (decoded whole
// first) and gray PNGs, shrunk (rows streamed) and not (the image held for the SIMD kernel).
TEST(ImageInput, ReadingResizesAsItDecodesWithTheSameBits) {
  POET_REQUIRE_FIXTURE("images/panda.jpg");
  TempDir dir;
  std::mt19937 rng(5);
  auto random_rows = [&](int width, int height, int channels) {
    std::vector<std::vector<uint8_t>> rows(height, std::vector<uint8_t>(width * channels));
    for (auto& row : rows)
      for (uint8_t& v : row) v = static_cast<uint8_t>(rng());
    return rows;
  };
  PngSpec rgb;
  rgb.width = 300;
  rgb.height = 200;
  PngSpec interlaced = rgb;
  interlaced.interlaced = true;
  PngSpec gray = rgb;
  gray.color_type = PNG_COLOR_TYPE_GRAY;
  std::ofstream(dir / "rgb.png", std::ios::binary) << encode_png(rgb, random_rows(300, 200, 3));
  std::ofstream(dir / "interlaced.png", std::ios::binary)
      << encode_png(interlaced, random_rows(300, 200, 3));
  std::ofstream(dir / "gray.png", std::ios::binary) << encode_png(gray, random_rows(300, 200, 1));
  const std::filesystem::path files[] = {fixture("images/panda.jpg"), dir / "rgb.png",
                                         dir / "interlaced.png", dir / "gray.png"};
  const std::pair<int64_t, int64_t> sizes[] = {{128, 128}, {299, 299}, {20, 15}, {1, 1}, {7, 90}};
  for (const auto& file : files) {
    const Tensor image = read_image(file);
    for (auto [h, w] : sizes) {
      const ImageInputSpec spec{.height = h, .width = w};
      const Tensor want = preprocess_image(image, spec);
      const Tensor got = read_image_input(file, spec);
      EXPECT_EQ(std::memcmp(got.data<float>().data(), want.data<float>().data(), want.byte_size()),
                0)
          << file << " " << h << "x" << w;
    }
  }
}

TEST(ImageInput, RejectsBadSpecsAndNamesTheFile) {
  Tensor image(DType::kUInt8, {2, 2, 3});
  EXPECT_THROW(preprocess_image(image, {.height = 0, .width = 4}), Error);
  EXPECT_THROW(preprocess_image(image, {.height = 4, .width = 4, .mean = 0, .std = 0}), Error);
  EXPECT_THROW(preprocess_image(Tensor(DType::kUInt8, {2, 2, 1}), {}), Error);
  TempDir dir;
  std::ofstream(dir / "bad.jpg") << "\xff\xd8\xff not really";
  expect_error([&] { read_image_input(dir / "bad.jpg", {}); }, "bad.jpg");
}

}  // namespace
}  // namespace poet::testing
