// .npy headers: the Python dictionary NumPy writes, read as np.load reads it, and what np.load
// refuses refused (tests/bad_inputs/cases.tsv holds the malformed files users meet).
#include <gtest/gtest.h>

#include "engine/npy.h"
#include "tests/expect_error.h"

namespace poet::testing {
namespace {

// A version 1.0 .npy file of `header` (padded as NumPy pads it) and `data`.
std::string npy_bytes(std::string header, std::string_view data) {
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + std::string(data);
}

const std::string kTwoFloats(8, '\0');

TEST(Npy, WhatWriteNpyWritesReadsBack) {
  const Tensor t = Tensor::from_floats({2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6});
  const Tensor back = parse_npy(serialize_npy(t), "t.npy");
  EXPECT_EQ(back.shape(), t.shape());
  EXPECT_EQ(back.data<float>()[5], 6.f);
}

// Python's literal_eval, which np.load uses, reads either quote; poet read single quotes only
// and reported ".npy dtype '' is not supported".
TEST(Npy, DoubleQuotedKeysAndValuesAreRead) {
  for (const char* header : {
           R"({"descr": "<f4", "fortran_order": False, "shape": (2,), })",
           R"({'descr': "<f4", "fortran_order": False, 'shape': (2,)})",
           R"({'shape': (2,), 'fortran_order': False, 'descr': '<f4'})",
       }) {
    const Tensor t = parse_npy(npy_bytes(header, kTwoFloats), "x.npy");
    EXPECT_EQ(t.dtype(), DType::kFloat32) << header;
    EXPECT_EQ(t.shape(), (Shape{2})) << header;
  }
}

// literal_eval keeps a duplicated key's last value; poet read the first. Either guess may be
// wrong about the writer's intent: an error.
TEST(Npy, AKeyGivenTwiceIsAnError) {
  expect_error(
      [&] {
        parse_npy(npy_bytes("{'descr': '<f4', 'descr': '<i4', 'fortran_order': False, "
                            "'shape': (2,), }",
                            kTwoFloats),
                  "x.npy");
      },
      "x.npy: the .npy header gives 'descr' twice");
  expect_error(
      [&] {
        parse_npy(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), "
                            "\"shape\": (1, 2)}",
                            kTwoFloats),
                  "x.npy");
      },
      "x.npy: the .npy header gives 'shape' twice");
}

// (3) is the integer 3 in Python, not a tuple: np.load refuses it, poet read it as (3,).
TEST(Npy, AShapeOfOneDimensionIsATuple) {
  auto header = [](const std::string& shape) {
    return "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  };
  expect_error([&] { parse_npy(npy_bytes(header("(2)"), kTwoFloats), "x.npy"); },
               "x.npy: bad shape '(2)' in the .npy header: a tuple of one dimension is written "
               "(2,)");
  for (const char* bad : {"(,)", "(2,,)", "(1 2)", "(, 2)", "2"})
    expect_error([&] { parse_npy(npy_bytes(header(bad), kTwoFloats), "x.npy"); },
                 std::string("x.npy: bad shape '") + bad + "' in the .npy header");
  EXPECT_EQ(parse_npy(npy_bytes(header("(2,)"), kTwoFloats), "x.npy").shape(), (Shape{2}));
  EXPECT_EQ(parse_npy(npy_bytes(header("( 2 , )"), kTwoFloats), "x.npy").shape(), (Shape{2}));
  EXPECT_EQ(parse_npy(npy_bytes(header("(1, 2)"), kTwoFloats), "x.npy").shape(), (Shape{1, 2}));
  EXPECT_EQ(parse_npy(npy_bytes(header("(1, 2,)"), kTwoFloats), "x.npy").shape(), (Shape{1, 2}));
  EXPECT_EQ(parse_npy(npy_bytes(header("()"), std::string(4, '\0')), "x.npy").shape(), Shape{});
}

TEST(Npy, AHeaderThatIsNotADictionaryIsAnError) {
  for (const char* header : {
           "'descr': '<f4', 'fortran_order': False, 'shape': (2,)",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)",
           "{descr: '<f4', 'fortran_order': False, 'shape': (2,)}",
           "{'descr' '<f4', 'fortran_order': False, 'shape': (2,)}",
           "{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}",
           "{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x",
       })
    expect_error([&] { parse_npy(npy_bytes(header, kTwoFloats), "x.npy"); },
                 "x.npy: the .npy header is not a dictionary");
}

}  // namespace
}  // namespace poet::testing
