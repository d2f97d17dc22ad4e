#include "kernels/onednn/common.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "engine/error.h"
#include "kernels/onednn/engine.h"

namespace poet::kernels::onednn {

std::string describe(const ConvShape& s) {
  return str_cat("input ", s.batch, "x", s.in_h, "x", s.in_w, "x", s.in_c, ", window ", s.k_h, "x",
                 s.k_w, ", stride ", s.stride_h, "x", s.stride_w, ", dilation ", s.dilation_h, "x",
                 s.dilation_w, ", pad top ", s.pad_top, " left ", s.pad_left, ", output ", s.batch,
                 "x", s.out_h, "x", s.out_w, "x", s.out_c);
}

dnnl::memory::desc nhwc_desc(int64_t n, int64_t h, int64_t w, int64_t c) {
  return {{n, c, h, w}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::nhwc};
}

int64_t pad_after(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t dilation,
                  int64_t pad_before) {
  int64_t span = (out - 1) * stride + (kernel - 1) * dilation + 1;
  return std::max<int64_t>(span - in - pad_before, 0);
}

dnnl::primitive_attr make_attr(Activation act) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::post_ops ops;
  switch (act) {
    case Activation::kNone:
      break;
    case Activation::kRelu:
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      break;
    case Activation::kRelu6:
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, 6.f);
      break;
  }
  attr.set_post_ops(ops);
  return attr;
}

namespace {

// 64-byte blocks so the scratchpad is cache-line aligned, as oneDNN's own allocations are.
struct alignas(64) Block {
  char bytes[64];
};

void* scratchpad(size_t bytes) {
  thread_local std::vector<Block> buffer;
  size_t blocks = (bytes + sizeof(Block) - 1) / sizeof(Block);
  if (buffer.size() < blocks) buffer.resize(blocks);
  return buffer.data();
}

}  // namespace

void execute(const dnnl::primitive& prim, const dnnl::primitive_desc_base& pd,
             std::unordered_map<int, dnnl::memory> args) {
  dnnl::memory::desc scratch = pd.scratchpad_desc();
  if (scratch.get_size() > 0) {
    args.emplace(DNNL_ARG_SCRATCHPAD,
                 dnnl::memory(scratch, cpu_engine(), scratchpad(scratch.get_size())));
  }
  use_configured_threads();
  dnnl::stream& stream = cpu_stream();
  prim.execute(stream, args);
  stream.wait();
}

WeightedOperands prepare_operands(const dnnl::primitive_desc_base& pd,
                                  const dnnl::memory::desc& user_weights,
                                  std::span<const float> weights,
                                  const dnnl::memory::desc& bias_desc, std::span<const float> bias,
                                  dnnl::memory::desc src, dnnl::memory::desc dst) {
  const dnnl::engine& eng = cpu_engine();
  WeightedOperands o{dnnl::memory(pd.weights_desc(), eng), {}, std::move(src), std::move(dst)};
  dnnl::memory user = wrap(user_weights, weights);
  dnnl::stream& stream = cpu_stream();
  dnnl::reorder(user, o.weights).execute(stream, user, o.weights);
  stream.wait();
  if (!bias.empty()) {
    o.bias = dnnl::memory(bias_desc, eng);
    std::memcpy(o.bias.get_data_handle(), bias.data(), bias.size_bytes());
  }
  return o;
}

void execute(const dnnl::primitive& prim, const dnnl::primitive_desc_base& pd,
             const WeightedOperands& operands, std::span<const float> input,
             std::span<float> output, std::string_view primitive, std::string_view layer) {
  try {
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, wrap(operands.src, input)},
                                               {DNNL_ARG_WEIGHTS, operands.weights},
                                               {DNNL_ARG_DST, wrap(operands.dst, output)}};
    if (operands.bias) args.emplace(DNNL_ARG_BIAS, operands.bias);
    execute(prim, pd, std::move(args));
  } catch (const dnnl::error& e) {
    fail_dnnl(e, primitive, layer);
  }
}

dnnl::memory wrap(const dnnl::memory::desc& desc, std::span<const float> data) {
  return dnnl::memory(desc, cpu_engine(), const_cast<float*>(data.data()));
}

void check_size(std::span<const float> data, int64_t expected, std::string_view what,
                std::string_view layer) {
  if (static_cast<int64_t>(data.size()) != expected)
    fail("oneDNN kernel for ", layer, ": ", what, " has ", data.size(), " floats, expected ",
         expected);
}

void fail_dnnl(const dnnl::error& e, std::string_view primitive, std::string_view layer) {
  fail("oneDNN ", primitive, " for ", layer, ": ", e.what(), " (status ",
       static_cast<int>(e.status), ")");
}

}  // namespace poet::kernels::onednn
