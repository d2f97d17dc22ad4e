// Geometry shared by convolutions and pooling: TensorFlow's SAME/VALID padding rules and the
// shape descriptor every conv kernel (reference, SIMD, oneDNN) takes.
#pragma once

#include <cstdint>
#include <string_view>

namespace poet::kernels {

enum class Padding { kSame, kValid };
enum class Activation { kNone, kRelu, kRelu6 };

// Output size and leading padding along one spatial axis, as TensorFlow computes them:
// SAME gives ceil(in / stride) outputs and puts the odd padding cell at the end.
struct AxisGeometry {
  int64_t out = 0;
  int64_t pad_before = 0;
};
AxisGeometry axis_geometry(int64_t in, int64_t kernel, int64_t stride, int64_t dilation,
                           Padding padding);

// NHWC activations; filters HWIO ([kh, kw, in_c, out_c], TensorFlow's layout); for depthwise
// convolutions [kh, kw, in_c, multiplier] with out_c = in_c * multiplier.
struct ConvShape {
  int64_t batch = 1;
  int64_t in_h = 0, in_w = 0, in_c = 0;
  int64_t out_h = 0, out_w = 0, out_c = 0;
  int64_t k_h = 1, k_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0;
  // Floats from one output pixel to the next; 0 means out_c (a dense output). More when the
  // layer writes its channels of a wider tensor: a concatenation's output, which its inputs'
  // producers then fill in place (engine/executor.cc). Only the reference and native Conv2D
  // and pooling kernels (ref::conv2d, x86::conv2d_nhwc, x86::conv2d_winograd, ref::max_pool,
  // ref::avg_pool, x86::pool_nhwc) take such an output; the other kernels check for a dense one.
  int64_t out_stride = 0;

  friend bool operator==(const ConvShape&, const ConvShape&) = default;
  int64_t input_size() const { return batch * in_h * in_w * in_c; }
  // Multiply-adds of one image's convolution, counting every window cell, padding included.
  int64_t image_multiply_adds() const { return out_h * out_w * out_c * k_h * k_w * in_c; }
  int64_t out_pixel_stride() const { return out_stride > 0 ? out_stride : out_c; }
  bool dense_output() const { return out_pixel_stride() == out_c; }
  // The floats the output spans: the last pixel ends out_c floats after its start.
  int64_t output_size() const {
    const int64_t pixels = batch * out_h * out_w;
    return pixels == 0 ? 0 : (pixels - 1) * out_pixel_stride() + out_c;
  }
};

// Fills out_h/out_w/pad_top/pad_left of `shape` from its other fields.
void set_output_geometry(ConvShape& shape, Padding padding);

// TensorFlow's CPU Relu and Relu6 (Eigen's cwiseMax(0), then cwiseMin(6)): (x < 0) ? 0 : x, then
// (6 < y) ? 6 : y. A NaN stays NaN and -0.0 stays -0.0 (no comparison with them is true).
inline float activate(float x, Activation act) {
  switch (act) {
    case Activation::kNone:
      return x;
    case Activation::kRelu:
      return x < 0.f ? 0.f : x;
    case Activation::kRelu6: {
      const float y = x < 0.f ? 0.f : x;
      return 6.f < y ? 6.f : y;
    }
  }
  return x;
}

}  // namespace poet::kernels
