// Helpers shared by the oneDNN primitives (internal to kernels/onednn).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/conv_shape.h"

namespace poet::kernels::onednn {

// "input 1x35x35x192, window 1x1, stride 1x1, dilation 1x1, pad top 0 left 0, output
// 1x35x35x64": names a layer in error messages.
std::string describe(const ConvShape& s);

// An NHWC float tensor descriptor (oneDNN orders dims N, C, H, W whatever the layout).
dnnl::memory::desc nhwc_desc(int64_t n, int64_t h, int64_t w, int64_t c);

// Padding after the image along one axis so that oneDNN's output size formula gives `out`:
// TensorFlow's SAME puts the odd cell there; VALID needs none.
int64_t pad_after(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t dilation,
                  int64_t pad_before);

// Primitive attributes: the activation as a fused eltwise post-op, and a caller-provided
// scratchpad (see execute()) so one primitive can run on several threads at once.
dnnl::primitive_attr make_attr(Activation act);

// Executes `prim` on the calling thread's stream with `args` plus a scratchpad of the size
// `pd` asks for (a per-thread buffer, grown when needed), and waits for it.
void execute(const dnnl::primitive& prim, const dnnl::primitive_desc_base& pd,
             std::unordered_map<int, dnnl::memory> args);

// The constant operands of a convolution or inner product, held in the layouts its primitive
// chose, and the descriptors of the activations it runs on.
struct WeightedOperands {
  dnnl::memory weights;  // in the primitive's weights_desc() layout
  dnnl::memory bias;     // empty when there is none
  dnnl::memory::desc src, dst;
};

// Reorders `weights` (laid out as `user_weights`) once into `pd`'s preferred layout and copies
// `bias` (empty: none) into oneDNN memory described by `bias_desc`.
WeightedOperands prepare_operands(const dnnl::primitive_desc_base& pd,
                                  const dnnl::memory::desc& user_weights,
                                  std::span<const float> weights,
                                  const dnnl::memory::desc& bias_desc, std::span<const float> bias,
                                  dnnl::memory::desc src, dnnl::memory::desc dst);

// Runs `prim` (built with `pd`) from `input` to `output` with the prepared operands; a oneDNN
// error becomes a poet::Error naming the primitive and the layer.
void execute(const dnnl::primitive& prim, const dnnl::primitive_desc_base& pd,
             const WeightedOperands& operands, std::span<const float> input,
             std::span<float> output, std::string_view primitive, std::string_view layer);

// A memory object over caller-owned data (oneDNN takes a non-const handle even for inputs it
// only reads).
dnnl::memory wrap(const dnnl::memory::desc& desc, std::span<const float> data);

// Fails unless `data` holds exactly `expected` floats.
void check_size(std::span<const float> data, int64_t expected, std::string_view what,
                std::string_view layer);

// Rethrows a dnnl::error as a poet::Error naming the primitive and the layer.
[[noreturn]] void fail_dnnl(const dnnl::error& e, std::string_view primitive,
                            std::string_view layer);

}  // namespace poet::kernels::onednn
