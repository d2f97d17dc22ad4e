// Cast: every supported pair, TensorFlow's truncation, float16 rounding, attribute checks.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "kernels/ref/cast.h"
#include "tests/op_test_util.h"

namespace poet::testing {
namespace {

std::map<std::string, AttrValue> cast_attrs(DType src, DType dst, bool truncate = false) {
  return {{"SrcT", src}, {"DstT", dst}, {"Truncate", truncate}};
}

template <class T>
std::vector<T> values(const Tensor& t) {
  auto d = t.data<T>();
  return {d.begin(), d.end()};
}

Tensor cast(const Tensor& in, DType dst) {
  return run_op1("Cast", {in}, cast_attrs(in.dtype(), dst));
}

TEST(Cast, FloatToIntegersTruncatesTowardZero) {
  Tensor in = floats({6}, {2.9f, -2.9f, 0.5f, -0.5f, 7, -7});
  EXPECT_EQ(values<int32_t>(cast(in, DType::kInt32)), (std::vector<int32_t>{2, -2, 0, 0, 7, -7}));
  EXPECT_EQ(values<int64_t>(cast(in, DType::kInt64)), (std::vector<int64_t>{2, -2, 0, 0, 7, -7}));
  EXPECT_EQ(values<uint8_t>(cast(floats({3}, {254.9f, 0.2f, 17.5f}), DType::kUInt8)),
            (std::vector<uint8_t>{254, 0, 17}));
}

TEST(Cast, FloatOutOfIntegerRangeIsDefined) {
  // What x86's truncating conversion gives (and so TensorFlow on it): the lowest value; uint8
  // keeps the low byte of the int32 conversion.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor in = floats({3}, {3e9f, -3e9f, nan});
  const int32_t lowest = std::numeric_limits<int32_t>::min();
  EXPECT_EQ(values<int32_t>(cast(in, DType::kInt32)),
            (std::vector<int32_t>{lowest, lowest, lowest}));
  EXPECT_EQ(values<int64_t>(cast(in, DType::kInt64)),
            (std::vector<int64_t>{3000000000, -3000000000, std::numeric_limits<int64_t>::min()}));
  EXPECT_EQ(values<uint8_t>(cast(floats({3}, {300, -1, 256}), DType::kUInt8)),
            (std::vector<uint8_t>{44, 255, 0}));
}

TEST(Cast, IntegersWidenNarrowAndBecomeFloats) {
  Tensor i32 = ints({4}, {-1, 300, 16777217, 0});
  EXPECT_EQ(values<int64_t>(cast(i32, DType::kInt64)),
            (std::vector<int64_t>{-1, 300, 16777217, 0}));
  EXPECT_EQ(values<uint8_t>(cast(i32, DType::kUInt8)), (std::vector<uint8_t>{255, 44, 1, 0}));
  // 2^24 + 1 is not a float: rounds to nearest even.
  EXPECT_EQ(floats(cast(i32, DType::kFloat32)), (std::vector<float>{-1, 300, 16777216, 0}));
  Tensor i64(DType::kInt64, {2});
  i64.data<int64_t>()[0] = (int64_t{1} << 32) + 5;
  i64.data<int64_t>()[1] = -2;
  EXPECT_EQ(values<int32_t>(cast(i64, DType::kInt32)), (std::vector<int32_t>{5, -2}));
  Tensor u8(DType::kUInt8, {2});
  u8.data<uint8_t>()[0] = 200;
  u8.data<uint8_t>()[1] = 3;
  EXPECT_EQ(floats(cast(u8, DType::kFloat32)), (std::vector<float>{200, 3}));
  EXPECT_EQ(values<int32_t>(cast(u8, DType::kInt32)), (std::vector<int32_t>{200, 3}));
}

TEST(Cast, BoolIsNonZero) {
  Tensor b =
      cast(floats({4}, {0, -0.f, 0.1f, std::numeric_limits<float>::quiet_NaN()}), DType::kBool);
  EXPECT_EQ(values<bool>(b), (std::vector<bool>{false, false, true, true}));
  EXPECT_EQ(values<bool>(cast(ints({3}, {0, 2, -1}), DType::kBool)),
            (std::vector<bool>{false, true, true}));
  EXPECT_EQ(floats(cast(b, DType::kFloat32)), (std::vector<float>{0, 0, 1, 1}));
  EXPECT_EQ(values<int64_t>(cast(b, DType::kInt64)), (std::vector<int64_t>{0, 0, 1, 1}));
}

TEST(Cast, HalfRoundsToNearestEven) {
  const float inf = std::numeric_limits<float>::infinity();
  // 1 + 2^-11 is halfway between halves 1 and 1 + 2^-10: ties go to the even 1.
  // 1 + 3 * 2^-11 is halfway between 1 + 2^-10 and 1 + 2^-9: ties go to 1 + 2^-9.
  // 65519 rounds to 65504, the largest half; 65520 to infinity. 2^-24 is the smallest
  // subnormal; 2^-25 ties to zero; 3 * 2^-25 ties to 2 * 2^-24.
  Tensor in = floats({10}, {1, 1 + 0x1p-11f, 1 + 3 * 0x1p-11f, -2.5f, 65519, 65520, 0x1p-24f,
                            0x1p-25f, 3 * 0x1p-25f, -inf});
  Tensor h = cast(in, DType::kFloat16);
  EXPECT_EQ(values<uint16_t>(h), (std::vector<uint16_t>{0x3c00, 0x3c00, 0x3c02, 0xc100, 0x7bff,
                                                        0x7c00, 0x0001, 0x0000, 0x0002, 0xfc00}));
  EXPECT_EQ(
      floats(cast(h, DType::kFloat32)),
      (std::vector<float>{1, 1, 1 + 0x1p-9f, -2.5f, 65504, inf, 0x1p-24f, 0, 0x1p-23f, -inf}));
  EXPECT_EQ(values<int32_t>(cast(h, DType::kInt32)),
            (std::vector<int32_t>{1, 1, 1, -2, 65504, std::numeric_limits<int32_t>::min(), 0, 0, 0,
                                  std::numeric_limits<int32_t>::min()}));
  Tensor nan = cast(floats({1}, {std::numeric_limits<float>::quiet_NaN()}), DType::kFloat16);
  EXPECT_TRUE(std::isnan(kernels::ref::half_to_float(values<uint16_t>(nan)[0])));
}

TEST(Cast, EveryHalfRoundTripsThroughFloat) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const uint16_t h = static_cast<uint16_t>(bits);
    const float f = kernels::ref::half_to_float(h);
    if (std::isnan(f)) continue;
    ASSERT_EQ(kernels::ref::float_to_half(f), h) << std::hex << bits;
  }
}

TEST(Cast, TruncateAttributeIsAccepted) {
  for (bool truncate : {false, true}) {
    EXPECT_EQ(values<int32_t>(run_op1("Cast", {floats({1}, {1.5f})},
                                      cast_attrs(DType::kFloat32, DType::kInt32, truncate))),
              std::vector<int32_t>{1});
  }
  // SrcT may be absent: the input's type is used.
  EXPECT_EQ(floats(run_op1("Cast", {ints({1}, {4})}, {{"DstT", DType::kFloat32}})),
            std::vector<float>{4});
}

TEST(Cast, RejectsUnsupportedTypesAndMismatchedSrcT) {
  std::string e =
      run_op_error("Cast", {floats({1}, {1})}, cast_attrs(DType::kFloat32, DType::kString));
  EXPECT_NE(e.find("cannot cast to string"), std::string::npos) << e;
  e = run_op_error("Cast", {floats({1}, {1})}, cast_attrs(DType::kInt32, DType::kFloat32));
  EXPECT_NE(e.find("input 0 is float32, but attribute SrcT says int32"), std::string::npos) << e;
  e = run_op_error("Cast", {floats({1}, {1})}, {{"SrcT", DType::kFloat32}});
  EXPECT_NE(e.find("DstT"), std::string::npos) << e;
}

}  // namespace
}  // namespace poet::testing
