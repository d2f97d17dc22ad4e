// Image preprocessing for classification graphs: decode, resize (legacy grid), normalise.
#include <gtest/gtest.h>

#include <fstream>

#include "engine/image_input.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"

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
