// BatchNormWithGlobalNormalization, FusedBatchNorm and FusedBatchNormV3 at inference:
// (x - mean) / sqrt(variance + epsilon) * scale + offset per channel.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/op_test_util.h"

namespace poet::testing {
namespace {

// Two channels chosen so that variance + epsilon (0.25) is 4 and 1: exact arithmetic.
Tensor x() { return floats({1, 1, 2, 2}, {1, 2, 3, 4}); }
Tensor scale() { return floats({2}, {2, 3}); }
Tensor offset() { return floats({2}, {0.5f, -1}); }
Tensor mean() { return floats({2}, {1, 2}); }
Tensor variance() { return floats({2}, {3.75f, 0.75f}); }

std::map<std::string, AttrValue> fused_attrs(float epsilon = 0.25f) {
  return {{"epsilon", epsilon},
          {"is_training", false},
          {"data_format", std::string("NHWC")},
          {"T", DType::kFloat32}};
}

std::map<std::string, AttrValue> global_attrs(bool scale_after) {
  return {{"variance_epsilon", 0.25f},
          {"scale_after_normalization", scale_after},
          {"T", DType::kFloat32}};
}

TEST(FusedBatchNorm, NormalizesEachChannelAndEchoesStatistics) {
  std::vector<Tensor> out =
      run_op("FusedBatchNorm", {x(), scale(), offset(), mean(), variance()}, fused_attrs(), 5);
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0].shape(), (Shape{1, 1, 2, 2}));
  // Channel 0: (x - 1) / 2 * 2 + 0.5; channel 1: (x - 2) / 1 * 3 - 1.
  EXPECT_EQ(floats(out[0]), (std::vector<float>{0.5f, -1, 2.5f, 5}));
  EXPECT_EQ(floats(out[1]), floats(mean()));
  EXPECT_EQ(floats(out[2]), floats(variance()));
  EXPECT_EQ(floats(out[3]), floats(mean()));
  EXPECT_EQ(floats(out[4]), floats(variance()));
}

TEST(FusedBatchNormV3, HasSixOutputs) {
  auto attrs = fused_attrs();
  attrs["U"] = DType::kFloat32;
  attrs["exponential_avg_factor"] = 1.f;
  std::vector<Tensor> out =
      run_op("FusedBatchNormV3", {x(), scale(), offset(), mean(), variance()}, attrs, 6);
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(floats(out[0]), (std::vector<float>{0.5f, -1, 2.5f, 5}));
  EXPECT_EQ(floats(out[2]), floats(variance()));
  EXPECT_EQ(out[5].dtype(), DType::kFloat32);
  EXPECT_EQ(out[5].shape(), (Shape{0}));
}

TEST(FusedBatchNorm, EpsilonDefaultsTo1e4) {
  auto attrs = fused_attrs();
  attrs.erase("epsilon");
  Tensor y = run_op("FusedBatchNorm",
                    {floats({1, 1, 1, 1}, {2}), floats({1}, {1}), floats({1}, {0}),
                     floats({1}, {0}), floats({1}, {1})},
                    attrs, 5)[0];
  EXPECT_FLOAT_EQ(floats(y)[0], 2.f / std::sqrt(1.0001f));
}

TEST(FusedBatchNorm, UnknownBatchShapes) {
  Executable exe =
      load_op("FusedBatchNormV3",
              {fed_input(DType::kFloat32, Shape{-1, 5, 5, 2}), constant_input(scale()),
               constant_input(offset()), constant_input(mean()), constant_input(variance())},
              fused_attrs(), 6);
  EXPECT_EQ(exe.fetch_info(0).shape.str(), "[?,5,5,2]");
  EXPECT_EQ(exe.fetch_info(1).shape.str(), "[2]");
  EXPECT_EQ(exe.fetch_info(5).shape.str(), "[0]");
}

TEST(FusedBatchNorm, RejectsTrainingOtherLayoutsAndMismatchedChannels) {
  std::vector<Tensor> inputs = {x(), scale(), offset(), mean(), variance()};
  for (const char* op : {"FusedBatchNorm", "FusedBatchNormV3"}) {
    auto attrs = fused_attrs();
    attrs["is_training"] = true;
    EXPECT_NE(run_op_error(op, inputs, attrs).find("is_training is true"), std::string::npos);
    attrs.erase("is_training");  // TensorFlow's default is true
    EXPECT_NE(run_op_error(op, inputs, attrs).find("is_training is true"), std::string::npos);
    attrs = fused_attrs();
    attrs["data_format"] = std::string("NCHW");
    EXPECT_NE(run_op_error(op, inputs, attrs).find("'NCHW'"), std::string::npos);
    std::vector<Tensor> bad = inputs;
    bad[4] = floats({3}, {1, 1, 1});
    EXPECT_NE(run_op_error(op, bad, fused_attrs()).find("input 4 has shape [3] but there are 2"),
              std::string::npos);
    bad = inputs;
    bad[0] = floats({2, 2}, {1, 2, 3, 4});
    EXPECT_NE(run_op_error(op, bad, fused_attrs()).find("expected rank 4"), std::string::npos);
  }
}

TEST(BatchNormWithGlobalNormalization, AppliesGammaOnlyWhenScalingAfterNormalization) {
  // Inputs: t, m, v, beta, gamma.
  std::vector<Tensor> inputs = {x(), mean(), variance(), offset(), scale()};
  EXPECT_EQ(floats(run_op1("BatchNormWithGlobalNormalization", inputs, global_attrs(true))),
            (std::vector<float>{0.5f, -1, 2.5f, 5}));
  // Without gamma: channel 0 (x - 1) / 2 + 0.5, channel 1 (x - 2) - 1.
  EXPECT_EQ(floats(run_op1("BatchNormWithGlobalNormalization", inputs, global_attrs(false))),
            (std::vector<float>{0.5f, -1, 1.5f, 1}));
}

TEST(BatchNormWithGlobalNormalization, RequiresItsAttributes) {
  std::vector<Tensor> inputs = {x(), mean(), variance(), offset(), scale()};
  for (const char* key : {"variance_epsilon", "scale_after_normalization"}) {
    auto attrs = global_attrs(true);
    attrs.erase(key);
    EXPECT_NE(run_op_error("BatchNormWithGlobalNormalization", inputs, attrs)
                  .find(std::string("missing attribute '") + key + "'"),
              std::string::npos);
  }
  inputs.pop_back();
  EXPECT_NE(run_op_error("BatchNormWithGlobalNormalization", inputs, global_attrs(true))
                .find("expects 5 inputs, has 4"),
            std::string::npos);
}

}  // namespace
}  // namespace poet::testing
