// The convolution layers poet must run fast, in one table shared by the SIMD tests and the
// benchmarks: every distinct Conv2D shape of Inception v3 (299x299 input) and of MobileNet v1
// (the first layer and the pointwise 1x1 convolutions) at 1.0_224 and 0.25_128.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "kernels/conv_shape.h"

namespace poet::testing {

struct ConvLayer {
  std::string_view name;  // the first layer of the network with this shape
  int64_t in_h, in_w, in_c;
  int64_t k_h, k_w, stride;
  kernels::Padding padding;
  int64_t out_c;

  // The ConvShape for batch 1, with the spatial size optionally capped (tests keep the
  // channel counts, which decide the kernel's blocking, but shrink the images).
  kernels::ConvShape shape(int64_t max_spatial = 1 << 30) const {
    kernels::ConvShape s;
    s.in_h = in_h < max_spatial ? in_h : max_spatial;
    s.in_w = in_w < max_spatial ? in_w : max_spatial;
    s.in_c = in_c;
    s.k_h = k_h;
    s.k_w = k_w;
    s.stride_h = s.stride_w = stride;
    s.out_c = out_c;
    kernels::set_output_geometry(s, padding);
    return s;
  }
  // Multiply-adds count 2.
  int64_t flops() const {
    kernels::ConvShape s = shape();
    return 2 * s.out_h * s.out_w * s.out_c * k_h * k_w * in_c;
  }
};

inline const std::vector<ConvLayer>& inception_v3_conv_layers() {
  using kernels::Padding;
  constexpr Padding V = Padding::kValid, S = Padding::kSame;
  static const std::vector<ConvLayer> layers = {
      {"Conv2d_1a_3x3", 299, 299, 3, 3, 3, 2, V, 32},
      {"Conv2d_2a_3x3", 149, 149, 32, 3, 3, 1, V, 32},
      {"Conv2d_2b_3x3", 147, 147, 32, 3, 3, 1, S, 64},
      {"Conv2d_3b_1x1", 73, 73, 64, 1, 1, 1, V, 80},
      {"Conv2d_4a_3x3", 73, 73, 80, 3, 3, 1, V, 192},
      {"Mixed_5b_1x1_64", 35, 35, 192, 1, 1, 1, S, 64},
      {"Mixed_5b_1x1_48", 35, 35, 192, 1, 1, 1, S, 48},
      {"Mixed_5b_pool_1x1_32", 35, 35, 192, 1, 1, 1, S, 32},
      {"Mixed_5b_5x5", 35, 35, 48, 5, 5, 1, S, 64},
      {"Mixed_5b_3x3_96a", 35, 35, 64, 3, 3, 1, S, 96},
      {"Mixed_5b_3x3_96b", 35, 35, 96, 3, 3, 1, S, 96},
      {"Mixed_5c_1x1_64", 35, 35, 256, 1, 1, 1, S, 64},
      {"Mixed_5c_1x1_48", 35, 35, 256, 1, 1, 1, S, 48},
      {"Mixed_5d_1x1_64", 35, 35, 288, 1, 1, 1, S, 64},
      {"Mixed_5d_1x1_48", 35, 35, 288, 1, 1, 1, S, 48},
      {"Mixed_6a_3x3_s2_384", 35, 35, 288, 3, 3, 2, V, 384},
      {"Mixed_6a_3x3_s2_96", 35, 35, 96, 3, 3, 2, V, 96},
      {"Mixed_6b_1x1_192", 17, 17, 768, 1, 1, 1, S, 192},
      {"Mixed_6b_1x1_128", 17, 17, 768, 1, 1, 1, S, 128},
      {"Mixed_6b_1x7_128", 17, 17, 128, 1, 7, 1, S, 128},
      {"Mixed_6b_7x1_128", 17, 17, 128, 7, 1, 1, S, 128},
      {"Mixed_6b_7x1_192", 17, 17, 128, 7, 1, 1, S, 192},
      {"Mixed_6b_1x7_192", 17, 17, 128, 1, 7, 1, S, 192},
      {"Mixed_6c_1x1_160", 17, 17, 768, 1, 1, 1, S, 160},
      {"Mixed_6c_1x7_160", 17, 17, 160, 1, 7, 1, S, 160},
      {"Mixed_6c_7x1_160", 17, 17, 160, 7, 1, 1, S, 160},
      {"Mixed_6c_7x1_192", 17, 17, 160, 7, 1, 1, S, 192},
      {"Mixed_6c_1x7_192", 17, 17, 160, 1, 7, 1, S, 192},
      {"Mixed_6e_1x7_192", 17, 17, 192, 1, 7, 1, S, 192},
      {"Mixed_6e_7x1_192", 17, 17, 192, 7, 1, 1, S, 192},
      {"Mixed_7a_3x3_s2_320", 17, 17, 192, 3, 3, 2, V, 320},
      {"Mixed_7a_3x3_s2_192", 17, 17, 192, 3, 3, 2, V, 192},
      {"Mixed_7b_1x1_320", 8, 8, 1280, 1, 1, 1, S, 320},
      {"Mixed_7b_1x1_384", 8, 8, 1280, 1, 1, 1, S, 384},
      {"Mixed_7b_1x1_448", 8, 8, 1280, 1, 1, 1, S, 448},
      {"Mixed_7b_pool_1x1_192", 8, 8, 1280, 1, 1, 1, S, 192},
      {"Mixed_7b_1x3_384", 8, 8, 384, 1, 3, 1, S, 384},
      {"Mixed_7b_3x1_384", 8, 8, 384, 3, 1, 1, S, 384},
      {"Mixed_7b_3x3_448", 8, 8, 448, 3, 3, 1, S, 384},
      {"Mixed_7c_1x1_320", 8, 8, 2048, 1, 1, 1, S, 320},
      {"Mixed_7c_1x1_384", 8, 8, 2048, 1, 1, 1, S, 384},
      {"Mixed_7c_1x1_448", 8, 8, 2048, 1, 1, 1, S, 448},
      {"Mixed_7c_pool_1x1_192", 8, 8, 2048, 1, 1, 1, S, 192},
  };
  return layers;
}

inline const std::vector<ConvLayer>& mobilenet_v1_conv_layers() {
  using kernels::Padding;
  constexpr Padding S = Padding::kSame;
  static const std::vector<ConvLayer> layers = {
      {"Conv2d_0", 224, 224, 3, 3, 3, 2, S, 32},
      {"Conv2d_1_pointwise", 112, 112, 32, 1, 1, 1, S, 64},
      {"Conv2d_2_pointwise", 56, 56, 64, 1, 1, 1, S, 128},
      {"Conv2d_3_pointwise", 56, 56, 128, 1, 1, 1, S, 128},
      {"Conv2d_4_pointwise", 28, 28, 128, 1, 1, 1, S, 256},
      {"Conv2d_5_pointwise", 28, 28, 256, 1, 1, 1, S, 256},
      {"Conv2d_6_pointwise", 14, 14, 256, 1, 1, 1, S, 512},
      {"Conv2d_7_pointwise", 14, 14, 512, 1, 1, 1, S, 512},
      {"Conv2d_12_pointwise", 7, 7, 512, 1, 1, 1, S, 1024},
      {"Conv2d_13_pointwise", 7, 7, 1024, 1, 1, 1, S, 1024},
  };
  return layers;
}

// MobileNet v1 0.25_128 (the fixture's graph): a quarter of the channels at 128x128.
inline const std::vector<ConvLayer>& mobilenet_v1_025_conv_layers() {
  using kernels::Padding;
  constexpr Padding S = Padding::kSame;
  static const std::vector<ConvLayer> layers = {
      {"Conv2d_0", 128, 128, 3, 3, 3, 2, S, 8},
      {"Conv2d_1_pointwise", 64, 64, 8, 1, 1, 1, S, 16},
      {"Conv2d_2_pointwise", 32, 32, 16, 1, 1, 1, S, 32},
      {"Conv2d_3_pointwise", 32, 32, 32, 1, 1, 1, S, 32},
      {"Conv2d_4_pointwise", 16, 16, 32, 1, 1, 1, S, 64},
      {"Conv2d_5_pointwise", 16, 16, 64, 1, 1, 1, S, 64},
      {"Conv2d_6_pointwise", 8, 8, 64, 1, 1, 1, S, 128},
      {"Conv2d_7_pointwise", 8, 8, 128, 1, 1, 1, S, 128},
      {"Conv2d_12_pointwise", 4, 4, 128, 1, 1, 1, S, 256},
      {"Conv2d_13_pointwise", 4, 4, 256, 1, 1, 1, S, 256},
  };
  return layers;
}

}  // namespace poet::testing
