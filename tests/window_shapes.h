// The depthwise convolution and pooling layers poet must run fast, in one table shared by the
// SIMD tests and the benchmarks (the Conv2D layers are in layer_shapes.h): every distinct
// depthwise layer of MobileNet v1 at 1.0_224 and 0.25_128, and every pooling layer of
// Inception v3 (299x299) and MobileNet v1.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/conv_shape.h"

namespace poet::testing {

enum class WindowOp { kDepthwise, kMaxPool, kAvgPool };

struct WindowLayer {
  std::string name;
  WindowOp op;
  int64_t in_h, in_w, channels;
  int64_t k_h, k_w, stride;
  kernels::Padding padding;

  // The ConvShape for batch 1 (multiplier 1 for depthwise layers).
  kernels::ConvShape shape() const {
    kernels::ConvShape s;
    s.in_h = in_h;
    s.in_w = in_w;
    s.in_c = s.out_c = channels;
    s.k_h = k_h;
    s.k_w = k_w;
    s.stride_h = s.stride_w = stride;
    kernels::set_output_geometry(s, padding);
    return s;
  }
  // Multiply-adds count 2 (depthwise); one max or add per window cell (pooling, as the op's
  // flops()).
  int64_t flops() const {
    kernels::ConvShape s = shape();
    return (op == WindowOp::kDepthwise ? 2 : 1) * s.output_size() * k_h * k_w;
  }
};

// A k x k window over `c` channels (out_c = in_c: a depthwise layer of multiplier 1, or a
// pool).
inline kernels::ConvShape window_shape(int64_t batch, int64_t h, int64_t w, int64_t c, int64_t k,
                                       int64_t stride, kernels::Padding padding) {
  kernels::ConvShape s;
  s.batch = batch;
  s.in_h = h;
  s.in_w = w;
  s.in_c = s.out_c = c;
  s.k_h = s.k_w = k;
  s.stride_h = s.stride_w = stride;
  kernels::set_output_geometry(s, padding);
  return s;
}

// MobileNet v1's 13 depthwise 3x3 SAME layers for an input of `resolution` and a width
// multiplier of `width_percent` / 100 (Conv2d_7..11 share one shape and are listed once).
inline std::vector<WindowLayer> mobilenet_v1_depthwise_layers(int64_t resolution,
                                                              int64_t width_percent) {
  struct Row {
    const char* name;
    int64_t divisor, channels, stride;
  };
  static const Row rows[] = {
      {"Conv2d_1_depthwise", 2, 32, 1},      {"Conv2d_2_depthwise", 2, 64, 2},
      {"Conv2d_3_depthwise", 4, 128, 1},     {"Conv2d_4_depthwise", 4, 128, 2},
      {"Conv2d_5_depthwise", 8, 256, 1},     {"Conv2d_6_depthwise", 8, 256, 2},
      {"Conv2d_7-11_depthwise", 16, 512, 1}, {"Conv2d_12_depthwise", 16, 512, 2},
      {"Conv2d_13_depthwise", 32, 1024, 1},
  };
  std::vector<WindowLayer> layers;
  const std::string prefix =
      "MobilenetV1_" + std::to_string(width_percent) + "%_" + std::to_string(resolution) + "/";
  for (const Row& r : rows) {
    const int64_t size = resolution / r.divisor;
    const int64_t c = r.channels * width_percent / 100;
    layers.push_back({prefix + r.name, WindowOp::kDepthwise, size, size, c, 3, 3, r.stride,
                      kernels::Padding::kSame});
  }
  return layers;
}

// Every distinct pooling layer of Inception v3 and MobileNet v1 (1.0_224 and 0.25_128).
inline const std::vector<WindowLayer>& pool_layers() {
  constexpr auto kMax = WindowOp::kMaxPool, kAvg = WindowOp::kAvgPool;
  constexpr auto V = kernels::Padding::kValid, S = kernels::Padding::kSame;
  static const std::vector<WindowLayer> layers = {
      {"InceptionV3/MaxPool_3a_3x3", kMax, 147, 147, 64, 3, 3, 2, V},
      {"InceptionV3/MaxPool_5a_3x3", kMax, 71, 71, 192, 3, 3, 2, V},
      {"InceptionV3/Mixed_5b_pool", kAvg, 35, 35, 192, 3, 3, 1, S},
      {"InceptionV3/Mixed_5c_pool", kAvg, 35, 35, 256, 3, 3, 1, S},
      {"InceptionV3/Mixed_5d_pool", kAvg, 35, 35, 288, 3, 3, 1, S},
      {"InceptionV3/Mixed_6a_pool", kMax, 35, 35, 288, 3, 3, 2, V},
      {"InceptionV3/Mixed_6b_pool", kAvg, 17, 17, 768, 3, 3, 1, S},
      {"InceptionV3/Mixed_7a_pool", kMax, 17, 17, 768, 3, 3, 2, V},
      {"InceptionV3/Mixed_7b_pool", kAvg, 8, 8, 1280, 3, 3, 1, S},
      {"InceptionV3/Mixed_7c_pool", kAvg, 8, 8, 2048, 3, 3, 1, S},
      {"InceptionV3/Logits_pool", kAvg, 8, 8, 2048, 8, 8, 1, V},
      {"MobilenetV1_224/Logits_pool", kAvg, 7, 7, 1024, 7, 7, 1, V},
      {"MobilenetV1_0.25_128/Logits_pool", kAvg, 4, 4, 256, 4, 4, 1, V},
  };
  return layers;
}

}  // namespace poet::testing
