#include "kernels/conv_shape.h"

#include <algorithm>

namespace poet::kernels {

AxisGeometry axis_geometry(int64_t in, int64_t kernel, int64_t stride, int64_t dilation,
                           Padding padding) {
  int64_t effective = (kernel - 1) * dilation + 1;
  AxisGeometry g;
  if (padding == Padding::kSame) {
    g.out = (in + stride - 1) / stride;
    int64_t total = std::max<int64_t>((g.out - 1) * stride + effective - in, 0);
    g.pad_before = total / 2;
  } else {
    g.out = in >= effective ? (in - effective) / stride + 1 : 0;
  }
  return g;
}

void set_output_geometry(ConvShape& s, Padding padding) {
  AxisGeometry h = axis_geometry(s.in_h, s.k_h, s.stride_h, s.dilation_h, padding);
  AxisGeometry w = axis_geometry(s.in_w, s.k_w, s.stride_w, s.dilation_w, padding);
  s.out_h = h.out;
  s.pad_top = h.pad_before;
  s.out_w = w.out;
  s.pad_left = w.pad_before;
}

}  // namespace poet::kernels
