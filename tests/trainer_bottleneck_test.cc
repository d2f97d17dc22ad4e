// The bottleneck cache: retrain.py's paths and text format, strict reading, atomic writing.
#include <gtest/gtest.h>

#include <bit>
#include <cfloat>
#include <cmath>
#include <fstream>

#include "engine/error.h"
#include "engine/file_io.h"
#include "tests/child_process.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"
#include "trainer/bottleneck_cache.h"

namespace poet::trainer {
namespace {

using ::poet::testing::expect_error;
using ::poet::testing::TempDir;

std::vector<std::string> files_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) names.push_back(e.path().lexically_relative(dir).string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(TrainerBottleneck, PathIsRetrainPys) {
  EXPECT_EQ(bottleneck_path("/tmp/bottleneck", "Red_Roses", "img1.jpg", "mobilenet_0.25_128"),
            "/tmp/bottleneck/Red_Roses/img1.jpg_mobilenet_0.25_128.txt");
  EXPECT_EQ(bottleneck_path("b/", "roses", "x.JPG", "inception_v3"),
            "b/roses/x.JPG_inception_v3.txt");
}

TEST(TrainerBottleneck, FormatsShortestFloat32) {
  std::vector<float> v = {0.25f, -1.5e-05f, 3.0f, 0.1f, 0.0f};
  EXPECT_EQ(format_bottleneck(v, "x"), "0.25,-1.5e-05,3,0.1,0");
  std::vector<float> bad = {1.0f, NAN};
  EXPECT_THROW(format_bottleneck(bad, "x"), Error);
}

TEST(TrainerBottleneck, RoundTripsEveryBitPattern) {
  std::vector<float> v = {FLT_MAX,  -FLT_MAX,   FLT_MIN,     FLT_TRUE_MIN, -0.0f,
                          1.0f / 3, 123456.79f, -2.7182817f, 1e-30f};
  for (uint32_t bits = 0x3f800001; bits < 0x3f800001 + 1000 * 7919; bits += 7919)
    v.push_back(std::bit_cast<float>(bits));
  std::string why;
  auto back = parse_bottleneck(format_bottleneck(v, "x"), v.size(), &why);
  ASSERT_TRUE(back) << why;
  for (size_t i = 0; i < v.size(); ++i)
    EXPECT_EQ(std::bit_cast<uint32_t>((*back)[i]), std::bit_cast<uint32_t>(v[i])) << i;
}

TEST(TrainerBottleneck, ReadsWhatRetrainPyWrites) {
  // Python's str() of numpy float32 values, old and new numpy; float() strips spaces.
  std::string why;
  auto v = parse_bottleneck("0.1,2.0, 3.5e-03 ,0.12345679,-7.0\n", 5, &why);
  ASSERT_TRUE(v) << why;
  EXPECT_EQ(*v, (std::vector<float>{0.1f, 2.0f, 3.5e-3f, 0.12345679f, -7.0f}));
}

TEST(TrainerBottleneck, RejectsInvalidText) {
  std::string why;
  EXPECT_FALSE(parse_bottleneck("1,2", 3, &why));
  EXPECT_EQ(why, "2 values, expected 3");
  EXPECT_FALSE(parse_bottleneck("1,2,3,4", 3, &why));
  EXPECT_EQ(why, "more than the expected 3 values");
  for (const char* text : {"1,,3", "1,abc,3", "nan,1,2", "1,inf,2", "1e400,1,2", "1,2,3,", "",
                           "1,2,3x", "1 2,3,4", "0x1p3,1,2"}) {
    EXPECT_FALSE(parse_bottleneck(text, 3, &why)) << text;
    EXPECT_NE(why.find("is not a finite number"), std::string::npos) << text << ": " << why;
  }
  // The warning is one line whatever the file holds.
  EXPECT_FALSE(parse_bottleneck("1,2\n\n3\r,4", 4, &why));
  EXPECT_EQ(why, "value 1 ('2??3?') is not a finite number");
}

TEST(TrainerBottleneck, RejectsOversizedFile) {
  TempDir tmp;
  std::string path = (tmp / "big.txt").string();
  write_file_atomic(path, std::string(10000, '1'));
  std::string why;
  EXPECT_FALSE(read_bottleneck(path, 3, &why));
  EXPECT_NE(why.find("more than the limit"), std::string::npos) << why;
}

// A cache file that cannot be opened for want of file descriptors is not invalid: the run stops
// with the system's reason instead of recomputing it (which would fail the same way).
TEST(TrainerBottleneck, AFileOpenedPastTheFileLimitIsNotCalledInvalid) {
  TempDir tmp;
  const std::string path = (tmp / "a.txt").string();
  write_file_atomic(path, "1,2,3");
  std::string why;
  ASSERT_TRUE(read_bottleneck(path, 3, &why)) << why;
  const std::string error = ::poet::testing::error_in_child([&] {
    const ::poet::testing::HeldDescriptors held;  // released as the error leaves
    read_bottleneck(path, 3, &why);
  });
  EXPECT_EQ(error.find(path + ": cannot open (Too many open files"), 0u) << error;
}

class CacheTest : public ::testing::Test {
 protected:
  CacheTest() {
    dataset_.image_dir = (tmp_ / "images").string();
    ImageClass roses;
    roses.label = "roses";
    roses.dir_name = "Roses";
    roses.training = {"a.jpg"};
    dataset_.classes.push_back(roses);
  }
  BottleneckCache cache(std::vector<float> result, size_t memory_budget = 1024) {
    return BottleneckCache(
        dataset_, (tmp_ / "bn").string(), "arch", 3,
        [this, result](const std::string& image) {
          computed_.push_back(image);
          return result;
        },
        [this](const std::string& message) { warnings_.push_back(message); }, memory_budget);
  }
  std::string file() const { return (tmp_ / "bn" / "Roses" / "a.jpg_arch.txt").string(); }

  TempDir tmp_;
  Dataset dataset_;
  std::vector<std::string> computed_, warnings_;
};

TEST_F(CacheTest, ComputesOnceThenReadsTheFile) {
  {
    BottleneckCache c = cache({1.5f, -2, 0.1f});
    EXPECT_EQ(c.get(dataset_.classes[0], "a.jpg"), (std::vector<float>{1.5f, -2, 0.1f}));
    EXPECT_EQ(c.get(dataset_.classes[0], "a.jpg"), (std::vector<float>{1.5f, -2, 0.1f}));
    EXPECT_EQ(c.created(), 1u);
  }
  EXPECT_EQ(computed_, (std::vector<std::string>{dataset_.image_dir + "/Roses/a.jpg"}));
  EXPECT_EQ(read_file(file()), "1.5,-2,0.1");
  EXPECT_EQ(files_in(tmp_ / "bn"), (std::vector<std::string>{"Roses/a.jpg_arch.txt"}));
  BottleneckCache again = cache({9, 9, 9});
  EXPECT_EQ(again.get(dataset_.classes[0], "a.jpg"), (std::vector<float>{1.5f, -2, 0.1f}));
  EXPECT_EQ(computed_.size(), 1u);
  EXPECT_TRUE(warnings_.empty());
}

TEST_F(CacheTest, OverTheMemoryBudgetRereadsTheFile) {
  BottleneckCache c = cache({1, 2, 3}, 8);  // room for two floats: nothing stays in memory
  EXPECT_EQ(c.get(dataset_.classes[0], "a.jpg"), (std::vector<float>{1, 2, 3}));
  write_file_atomic(file(), "7,8,9");
  EXPECT_EQ(c.get(dataset_.classes[0], "a.jpg"), (std::vector<float>{7, 8, 9}));
  BottleneckCache kept = cache({1, 2, 3});
  EXPECT_EQ(kept.get(dataset_.classes[0], "a.jpg"), (std::vector<float>{7, 8, 9}));
  write_file_atomic(file(), "4,5,6");
  EXPECT_EQ(kept.get(dataset_.classes[0], "a.jpg"), (std::vector<float>{7, 8, 9}));  // memory
  EXPECT_EQ(computed_.size(), 1u);
}

TEST_F(CacheTest, CorruptFileIsRecomputedWithAWarning) {
  write_file_atomic(file(), "1.5,-2");  // truncated
  BottleneckCache c = cache({4, 5, 6});
  EXPECT_EQ(c.get(dataset_.classes[0], "a.jpg"), (std::vector<float>{4, 5, 6}));
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_EQ(warnings_[0], file() + ": invalid bottleneck file (2 values, expected 3); recomputing");
  EXPECT_EQ(read_file(file()), "4,5,6");
}

TEST_F(CacheTest, BadNetworkOutputLeavesNoFile) {
  BottleneckCache wrong_size = cache({1, 2});
  EXPECT_THROW(wrong_size.get(dataset_.classes[0], "a.jpg"), Error);
  BottleneckCache not_finite = cache({1, NAN, 2});
  expect_error([&] { not_finite.get(dataset_.classes[0], "a.jpg"); },
               file() + ": bottleneck value 1 is nan");
  EXPECT_FALSE(std::filesystem::exists(file()));
  if (std::filesystem::exists(tmp_ / "bn")) {
    EXPECT_TRUE(files_in(tmp_ / "bn").empty());
  }
}

}  // namespace
}  // namespace poet::trainer
