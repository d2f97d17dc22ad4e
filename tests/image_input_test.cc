// Image preprocessing for classification graphs: decode, resize (legacy grid), normalise.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "engine/image_input.h"
#include "engine/npy.h"
#include "tests/fixtures.h"
#include "tests/image_test_util.h"

namespace poet::testing {
namespace {

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

TEST(ImageInput, RejectsBadSpecsAndNamesTheFile) {
  Tensor image(DType::kUInt8, {2, 2, 3});
  EXPECT_THROW(preprocess_image(image, {.height = 0, .width = 4}), Error);
  EXPECT_THROW(preprocess_image(image, {.height = 4, .width = 4, .mean = 0, .std = 0}), Error);
  EXPECT_THROW(preprocess_image(Tensor(DType::kUInt8, {2, 2, 1}), {}), Error);
  TempDir dir;
  std::ofstream(dir / "bad.jpg") << "\xff\xd8\xff not really";
  try {
    read_image_input(dir / "bad.jpg", {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jpg"), std::string::npos) << e.what();
  }
}

TEST(ImageInput, PandaMatchesTheMobileNetReferenceInput) {
  POET_REQUIRE_FIXTURE("reference/mobilenet_v1_0.25_128/panda.input.npy");
  Tensor want = read_npy(fixture("reference/mobilenet_v1_0.25_128/panda.input.npy"));
  Tensor got = read_image_input(fixture("images/panda.jpg"),
                                {.height = 128, .width = 128, .mean = 127.5f, .std = 127.5f});
  ASSERT_EQ(got.shape(), want.shape());
  auto g = got.data<float>();
  auto w = want.data<float>();
  double max_diff = 0, sum_diff = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    max_diff = std::max(max_diff, static_cast<double>(std::abs(g[i] - w[i])));
    sum_diff += std::abs(g[i] - w[i]);
  }
  std::printf("panda input vs reference: max %.6g, mean %.6g\n", max_diff,
              sum_diff / static_cast<double>(g.size()));
  EXPECT_LT(max_diff, 1e-5);
}

}  // namespace
}  // namespace poet::testing
