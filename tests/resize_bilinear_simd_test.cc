// The x86 SIMD bilinear resize against the reference, for every ISA this machine can run:
// the preprocessing resizes of retrained graphs (a photo to 299x299 or 224x224, 3 channels),
// every sampling grid, channel counts around the vector widths, up- and downscaling, 1x1
// images, batches, and the op on the native backend. The arithmetic is the reference's, operation
// for operation, so results must be identical.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/error.h"
#include "engine/thread_pool.h"
#include "kernels/x86/resize_bilinear_nhwc.h"
#include "tests/kernel_test_util.h"
#include "tests/op_test_util.h"

namespace poet::testing {
namespace {

namespace x86 = kernels::x86;
using kernels::ref::ResizeGrid;
using kernels::ref::ResizeShape;

void check_against_reference(const ResizeShape& s, ResizeGrid grid, ThreadPool* pool = nullptr) {
  SCOPED_TRACE(str_cat(s.batch, "x", s.in_h, "x", s.in_w, "x", s.channels, " -> ", s.out_h, "x",
                       s.out_w, " grid ", static_cast<int>(grid)));
  auto input = random_floats(s.batch * s.in_h * s.in_w * s.channels, 9, 0.f, 255.f);
  std::vector<float> want(s.batch * s.out_h * s.out_w * s.channels);
  kernels::ref::resize_bilinear(s, grid, std::span<const float>(input), want);
  for (x86::Isa isa : simd_isas()) {
    SCOPED_TRACE(x86::isa_name(isa));
    std::vector<float> got(want.size(), NAN);
    x86::resize_bilinear_nhwc(isa, s, grid, input, got, pool);
    EXPECT_EQ(got, want);
  }
}

TEST(ResizeBilinearSimd, PreprocessingOfRetrainedGraphs) {
  ThreadPool pool(2);
  check_against_reference({1, 480, 640, 3, 299, 299}, ResizeGrid::kLegacy, &pool);
  check_against_reference({1, 100, 100, 3, 224, 224}, ResizeGrid::kLegacy, &pool);
  check_against_reference({1, 333, 500, 3, 128, 128}, ResizeGrid::kHalfPixel, &pool);
}

TEST(ResizeBilinearSimd, EveryGridChannelCountAndDirection) {
  for (ResizeGrid grid : {ResizeGrid::kLegacy, ResizeGrid::kAlignCorners, ResizeGrid::kHalfPixel})
    for (int64_t c : {1, 3, 7, 16, 17, 33})
      for (auto [in_h, in_w, out_h, out_w] :
           {std::array<int64_t, 4>{2, 3, 7, 5}, {9, 8, 4, 3}, {1, 1, 3, 2}, {5, 5, 1, 1}})
        check_against_reference({2, in_h, in_w, c, out_h, out_w}, grid);
}

TEST(ResizeBilinearSimd, RejectsWrongBufferSizes) {
  std::vector<float> in(12), out(5);
  EXPECT_THROW(x86::resize_bilinear_nhwc(x86::Isa::kRef, {1, 2, 2, 3, 2, 2}, ResizeGrid::kLegacy,
                                         in, out, nullptr),
               Error);
}

TEST(ResizeBilinearSimd, OpOnTheNativeBackendOnEveryIsa) {
  Tensor image = floats({1, 5, 7, 3}, random_floats(105, 3, 0.f, 255.f));
  Tensor size = ints({2}, {11, 4});
  Tensor want = run_op1("ResizeBilinear", {image, size}, {}, Backend::kReference);
  for (x86::Isa isa : simd_isas()) {
    SCOPED_TRACE(x86::isa_name(isa));
    x86::force_isa(isa);
    EXPECT_EQ(floats(run_op1("ResizeBilinear", {image, size}, {}, Backend::kNative)), floats(want));
  }
  x86::force_isa(std::nullopt);
}

}  // namespace
}  // namespace poet::testing
