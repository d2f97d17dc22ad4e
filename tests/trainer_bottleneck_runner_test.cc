// trainer::BottleneckRunner: images pushed through a network in batches, including a graph
// that fixes the batch at 1 before its bottleneck (as Inception v3 2015's pool_3/_reshape
// does), which takes its batches image by image across the threads.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <vector>

#include "tests/child_process.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"
#include "tests/image_test_util.h"
#include "tests/test_graph.h"
#include "trainer/bottleneck_cache.h"
#include "trainer/bottleneck_runner.h"

namespace poet::testing {
namespace {

constexpr int kSize = 4, kChannels = 6;

// input [?, 4, 4, 3] -> 1x1 Conv2D to 6 channels -> Relu -> AvgPool over the whole image ->
// Reshape to [1, 6], the batch written as 1 (a graph exported for one image).
Graph one_image_graph() {
  TestGraph t;
  Endpoint x = t.placeholder("input", PartialShape(std::vector<int64_t>{-1, kSize, kSize, 3}));
  Tensor w(DType::kFloat32, {1, 1, 3, kChannels});
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  for (float& v : w.data<float>()) v = u(rng);
  Endpoint conv =
      t.op("conv", "Conv2D", {x, t.constant("w", w)},
           {{"strides", std::vector<int64_t>{1, 1, 1, 1}}, {"padding", std::string("VALID")}});
  Endpoint relu = t.op("relu", "Relu", {conv});
  Endpoint pool = t.op("pool", "AvgPool", {relu},
                       {{"ksize", std::vector<int64_t>{1, kSize, kSize, 1}},
                        {"strides", std::vector<int64_t>{1, 1, 1, 1}},
                        {"padding", std::string("VALID")}});
  const std::vector<int32_t> one_image = {1, kChannels};
  t.op("bottleneck", "Reshape", {pool, t.constant("shape", Tensor::from_ints({2}, one_image))});
  return std::move(t.g);
}

trainer::BottleneckModel model() {
  trainer::BottleneckModel m;
  m.input_tensor = "input:0";
  m.bottleneck_tensor = "bottleneck:0";
  m.bottleneck_size = kChannels;
  m.spec.height = m.spec.width = kSize;
  return m;
}

std::vector<Tensor> images(int n) {
  std::vector<Tensor> out;
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int i = 0; i < n; ++i) {
    Tensor t(DType::kFloat32, {1, kSize, kSize, 3});
    for (float& v : t.data<float>()) v = u(rng);
    out.push_back(std::move(t));
  }
  return out;
}

ExecOptions threads(int n, BatchSplit split = BatchSplit::kAuto) {
  ExecOptions o;
  o.threads = n;
  o.batch_split = split;
  return o;
}

// Each image alone, one per pass: what every batched run must give.
std::vector<std::vector<float>> one_at_a_time(std::span<const Tensor> inputs) {
  trainer::BottleneckRunner runner(one_image_graph(), model(), 1, threads(1));
  return runner.run(inputs);
}

TEST(BottleneckRunner, AGraphThatFixesTheBatchTakesBatchesImageByImage) {
  const std::vector<Tensor> inputs = images(7);
  trainer::BottleneckRunner runner(one_image_graph(), model(), 4, threads(2));
  EXPECT_EQ(runner.batch(), 4);
  EXPECT_EQ(runner.batch_note(), "");
  EXPECT_EQ(runner.run(inputs), one_at_a_time(inputs));
}

// With 3 threads a last batch of 2 images is too small to give every thread an image, and is
// split all the same: run whole, it would not fit the Reshape to [1, 6].
TEST(BottleneckRunner, ABatchSmallerThanTheThreadsIsSplitToo) {
  const std::vector<Tensor> inputs = images(6);  // batches of 4, then 2
  trainer::BottleneckRunner runner(one_image_graph(), model(), 4, threads(3));
  EXPECT_EQ(runner.batch(), 4);
  EXPECT_EQ(runner.run(inputs), one_at_a_time(inputs));
}

TEST(BottleneckRunner, WithoutTheBatchSplitAGraphThatFixesTheBatchRunsOneImageAPass) {
  const std::vector<Tensor> inputs = images(3);
  trainer::BottleneckRunner runner(one_image_graph(), model(), 4, threads(2, BatchSplit::kOff));
  EXPECT_EQ(runner.batch(), 1);
  EXPECT_NE(runner.batch_note().find("'bottleneck:0' has shape [1,6]: the graph fixes the batch"),
            std::string::npos)
      << runner.batch_note();
  EXPECT_EQ(runner.run(inputs), one_at_a_time(inputs));
}

TEST(BottleneckRunner, ABatchTensorGivesEachImagesBottleneck) {
  const std::vector<Tensor> inputs = images(4);
  trainer::BottleneckRunner runner(one_image_graph(), model(), 4, threads(2));
  EXPECT_EQ(runner.run_batch(join_rows(inputs, "input:0")), one_at_a_time(inputs));
  expect_error([&] { runner.run_batch(join_rows(images(5), "input:0")); },
               "[5,4,4,3]; expected float32 [n,4,4,3], n in 1..4");
  expect_error([&] { runner.run_batch(Tensor(DType::kFloat32, {2, 3, 4, 3})); }, "[2,3,4,3]");
}

// Writes `n` small random images (PNG bytes under retrain.py's .jpg names: the decoder goes by
// the bytes), each of a different size, so that each is resized differently; returns their
// paths.
std::vector<std::string> write_images(const std::filesystem::path& folder, int n) {
  std::filesystem::create_directories(folder);
  std::mt19937 rng(3);
  std::vector<std::string> paths;
  for (int i = 0; i < n; ++i) {
    PngSpec spec;
    spec.width = 5 + i;
    spec.height = 6;
    std::vector<std::vector<uint8_t>> rows(6, std::vector<uint8_t>(spec.width * 3));
    for (auto& row : rows)
      for (uint8_t& v : row) v = static_cast<uint8_t>(rng());
    paths.push_back((folder / str_cat(i, ".jpg")).string());
    std::ofstream(paths.back(), std::ios::binary) << encode_png(spec, rows);
  }
  return paths;
}

// Filling the cache decodes each batch straight into the tensor it feeds, the next batch while
// the network runs one: every file holds its image's bottleneck, computed alone.
TEST(BottleneckRunner, TheCacheHoldsEachImagesBottleneck) {
  TempDir dir;
  for (const char* label : {"a", "b"}) write_images(dir / "images" / label, 5);
  const trainer::Dataset dataset = trainer::scan_image_dir((dir / "images").string(), 20, 20);
  const std::string cache = (dir / "cache").string();
  trainer::BottleneckRunner runner(one_image_graph(), model(), 4, threads(2));
  const trainer::CacheFill fill =
      trainer::fill_bottleneck_cache(dataset, cache, "arch", runner, {}, [](const std::string&) {});
  EXPECT_EQ(fill.computed, 10u);  // batches of 4, 4 and 2
  trainer::BottleneckRunner alone(one_image_graph(), model(), 1, threads(1));
  for (const trainer::ImageClass& c : dataset.classes)
    for (trainer::Split split :
         {trainer::Split::kTraining, trainer::Split::kTesting, trainer::Split::kValidation})
      for (const std::string& file : c.images(split)) {
        const std::string path = trainer::bottleneck_path(cache, c.dir_name, file, "arch");
        EXPECT_EQ(trainer::read_bottleneck(path, kChannels, nullptr),
                  alone.image_bottleneck(dataset.image_path(c, file)))
            << path;
      }
}

// A step's distorted images, decoded and distorted a batch at a time on the pool's threads:
// each gives the bottleneck of its image distorted alone by its draw, taken in order.
TEST(BottleneckRunner, DistortedImagesGiveTheirBottlenecksInOrder) {
  TempDir dir;
  const std::vector<std::string> paths = write_images(dir.path(), 10);
  const trainer::DistortOptions options{
      .flip_left_right = true, .random_crop = 50, .random_scale = 30, .random_brightness = 20};
  trainer::BottleneckRunner runner(one_image_graph(), model(), 4, threads(2));
  ThreadPool pool(2);
  trainer::Random random(7);
  const std::vector<std::vector<float>> got =
      trainer::distorted_bottlenecks(paths, options, runner, random, pool);
  trainer::Random again(7);
  std::vector<trainer::Distortion> draws;
  for (size_t i = 0; i < paths.size(); ++i)
    draws.push_back(trainer::draw_distortion(options, model().spec, again));
  trainer::BottleneckRunner alone(one_image_graph(), model(), 1, threads(1));
  ASSERT_EQ(got.size(), paths.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    const Tensor input =
        trainer::apply_distortion(trainer::decode_training_image(paths[i]), draws[i], model().spec);
    EXPECT_EQ(got[i], alone.input_bottleneck(input)) << paths[i];
  }
  EXPECT_EQ(random.bits(), again.bits());  // one draw per image, no more

  // Unreadable files, two in the second batch and one in the third: the first in order is named.
  for (int i : {9, 6, 5}) std::ofstream(paths[i]) << "not an image";
  expect_error([&] { trainer::distorted_bottlenecks(paths, options, runner, random, pool); },
               paths[5]);
}

// The graph above with its bottleneck made an op poet cannot run: building it fails.
Graph unbuildable_graph() {
  Graph g = one_image_graph();
  g.node(g.find("bottleneck")).op = "NoSuchOp";
  return g;
}

// With no file descriptor left (`ulimit -n` too low), a good image is not called unreadable:
// the error says what is at fault, with no advice to remove the image.
TEST(BottleneckRunner, AnImageOpenedPastTheFileLimitIsNotBlamed) {
  TempDir dir;
  const std::string path = (dir / "a.png").string();
  PngSpec spec;
  spec.width = spec.height = kSize;
  std::ofstream(path, std::ios::binary) << encode_png(
      spec, std::vector<std::vector<uint8_t>>(kSize, std::vector<uint8_t>(kSize * 3, 7)));
  ASSERT_NO_THROW(trainer::read_training_image(path, model().spec));
  const std::string error = error_in_child([&] {
    const HeldDescriptors held;  // released as the error leaves
    trainer::read_training_image(path, model().spec);
  });
  EXPECT_EQ(error.find(path + ": cannot open (Too many open files"), 0u) << error;
  EXPECT_NE(error.find("ulimit -n"), std::string::npos) << error;
  EXPECT_EQ(error.find("not a readable image"), std::string::npos) << error;
}

TEST(BottleneckRunner, BuildsTheGraphOnFirstUseOnly) {
  trainer::BottleneckRunner runner(unbuildable_graph(), model(), 4, threads(2));
  expect_error([&] { runner.batch(); }, "NoSuchOp");
  // A bottleneck of unknown size is read off the graph, which is built at once.
  trainer::BottleneckModel unsized = model();
  unsized.bottleneck_size = 0;
  EXPECT_EQ(trainer::BottleneckRunner(one_image_graph(), unsized, 4, threads(2)).bottleneck_size(),
            kChannels);
  expect_error([&] { trainer::BottleneckRunner(unbuildable_graph(), unsized, 4, threads(2)); },
               "NoSuchOp");
}

// Released (poet retrain frees it for training), the graph is built again on the next run and
// gives the same bottlenecks; its batch note is not repeated.
TEST(BottleneckRunner, AReleasedGraphIsBuiltAgainOnTheNextRun) {
  const std::vector<Tensor> inputs = images(5);
  int warnings = 0;
  trainer::BottleneckRunner runner(one_image_graph(), model(), 4, threads(2, BatchSplit::kOff),
                                   [&](const std::string&) { ++warnings; });
  const std::vector<std::vector<float>> first = runner.run(inputs);
  EXPECT_EQ(warnings, 1);
  runner.release();
  EXPECT_EQ(runner.run(inputs), first);
  EXPECT_EQ(first, one_at_a_time(inputs));
  EXPECT_EQ(runner.batch(), 1);
  EXPECT_EQ(warnings, 1);
}

// Given a way to read the graph again, the first build takes the graph over, and what needs it
// later (a build after release(), graph()) reads it again; without one, nothing is read again.
TEST(BottleneckRunner, AGraphTakenOverIsReadAgainWhenNeeded) {
  const std::vector<Tensor> inputs = images(5);
  int reads = 0;
  trainer::BottleneckRunner runner(one_image_graph(), model(), 4, threads(2), {}, [&] {
    ++reads;
    return one_image_graph();
  });
  EXPECT_EQ(runner.graph().size(), one_image_graph().size());
  EXPECT_EQ(reads, 0);
  const std::vector<std::vector<float>> first = runner.run(inputs);
  EXPECT_EQ(first, one_at_a_time(inputs));
  EXPECT_EQ(reads, 0);
  EXPECT_EQ(runner.graph().size(), one_image_graph().size());
  EXPECT_EQ(reads, 1);
  runner.release();
  EXPECT_EQ(runner.run(inputs), first);
  EXPECT_EQ(reads, 2);

  trainer::BottleneckRunner kept(one_image_graph(), model(), 4, threads(2));
  EXPECT_EQ(kept.run(inputs), first);
  kept.release();
  EXPECT_EQ(kept.run(inputs), first);
  EXPECT_EQ(kept.graph().size(), one_image_graph().size());
}

TEST(BottleneckRunner, UnknownTensorsAreNamedAtOnce) {
  trainer::BottleneckModel m = model();
  m.bottleneck_tensor = "pool_3/_reshape:0";
  expect_error([&] { trainer::BottleneckRunner(one_image_graph(), m, 4, threads(2)); },
               "no node named 'pool_3/_reshape'");
}

// Every bottleneck already cached: filling the cache reads them and never builds the graph,
// which here would fail; one file missing, it is built.
TEST(BottleneckRunner, AFullCacheNeverBuildsTheGraph) {
  TempDir dir;
  for (const char* label : {"a", "b"}) {
    std::filesystem::create_directories(dir / "images" / label);
    for (int i = 0; i < 3; ++i) std::ofstream(dir / "images" / label / str_cat(i, ".jpg")) << "x";
  }
  const trainer::Dataset dataset = trainer::scan_image_dir((dir / "images").string(), 10, 10);
  const std::string cache = (dir / "cache").string();
  for (const trainer::ImageClass& c : dataset.classes)
    for (trainer::Split split :
         {trainer::Split::kTraining, trainer::Split::kTesting, trainer::Split::kValidation})
      for (const std::string& file : c.images(split))
        trainer::write_bottleneck(trainer::bottleneck_path(cache, c.dir_name, file, "arch"),
                                  std::vector<float>(kChannels, 0.5f));
  trainer::BottleneckRunner runner(unbuildable_graph(), model(), 4, threads(2));
  auto fill = [&] {
    return trainer::fill_bottleneck_cache(dataset, cache, "arch", runner, {},
                                          [](const std::string&) {});
  };
  EXPECT_EQ(fill().reused, 6u);
  std::filesystem::remove(
      trainer::bottleneck_path(cache, dataset.classes[0].dir_name,
                               dataset.classes[0].images(trainer::Split::kTraining).at(0), "arch"));
  expect_error(fill, "NoSuchOp");
}

}  // namespace
}  // namespace poet::testing
