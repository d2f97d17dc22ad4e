// Depthwise convolution and pooling speed on every distinct depthwise layer of MobileNet v1
// (1.0_224 and 0.25_128) and every pooling layer of Inception v3 and MobileNet v1: the
// reference, the SIMD kernels for each ISA on 1 and 2 threads, and for the depthwise layers
// oneDNN's depthwise convolution on 1 and 2 OpenMP threads. Counters: GFLOP/s (multiply-adds
// count 2; pooling one op per window cell) and GB/s of input plus output. With 2 threads the
// time is the process's CPU time (both threads), as in conv2d_bench, so the rates are per busy
// core; run with OMP_WAIT_POLICY=passive so that oneDNN's idle threads do not count as busy.
//   OMP_WAIT_POLICY=passive ./build/bench/depthwise_bench --benchmark_filter='Conv2d_1_depthwise'
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <string>

#include "engine/tensor.h"
#include "engine/thread_pool.h"
#include "kernels/onednn/conv2d.h"
#include "kernels/onednn/engine.h"
#include "kernels/x86/depthwise_conv2d_nhwc.h"
#include "kernels/x86/pool_nhwc.h"
#include "tests/window_shapes.h"

namespace {

namespace x86 = poet::kernels::x86;
using poet::testing::WindowLayer;
using poet::testing::WindowOp;

// 64-byte aligned, as the executor's tensors are: with a 2 or 4 KiB pixel pitch (512 or 1024
// channels) a misaligned buffer splits every vector load over two cache lines.
struct Buffer {
  std::shared_ptr<std::byte> storage;
  std::span<float> floats;
  operator std::span<float>() const { return floats; }
  operator std::span<const float>() const { return floats; }
  float* data() const { return floats.data(); }
};

Buffer random_floats(int64_t n) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  Buffer b{poet::allocate_aligned(static_cast<size_t>(n) * sizeof(float)), {}};
  b.floats = {reinterpret_cast<float*>(b.storage.get()), static_cast<size_t>(n)};
  for (float& x : b.floats) x = dist(rng);
  return b;
}

void set_counters(benchmark::State& state, const WindowLayer& layer) {
  const poet::kernels::ConvShape s = layer.shape();
  using benchmark::Counter;
  state.counters["GFLOP/s"] =
      Counter(static_cast<double>(layer.flops()) * 1e-9, Counter::kIsIterationInvariantRate);
  state.counters["GB/s"] =
      Counter((s.input_size() + s.output_size()) * 4e-9, Counter::kIsIterationInvariantRate);
}

void BM_Window(benchmark::State& state, const WindowLayer& layer, x86::Isa isa, int threads) {
  const poet::kernels::ConvShape s = layer.shape();
  auto input = random_floats(s.input_size());
  auto filter = random_floats(s.k_h * s.k_w * s.out_c);
  auto bias = random_floats(s.out_c);
  Buffer output = random_floats(s.output_size());
  std::unique_ptr<poet::ThreadPool> pool;
  if (threads > 1) pool = std::make_unique<poet::ThreadPool>(threads);
  // Packed once, as the op packs a constant filter and bias.
  const x86::PackedDepthwiseWeights packed =
      layer.op == WindowOp::kDepthwise && isa != x86::Isa::kRef
          ? x86::pack_depthwise_weights(s.k_h, s.k_w, s.out_c, filter, bias)
          : x86::PackedDepthwiseWeights{};
  for (auto _ : state) {
    switch (layer.op) {
      case WindowOp::kDepthwise:
        // MobileNet's fused layer: bias (the folded batch norm) and Relu6.
        if (isa == x86::Isa::kRef) {
          x86::depthwise_conv2d_nhwc(isa, s, input, filter, bias, poet::kernels::Activation::kRelu6,
                                     output, pool.get());
        } else {
          x86::depthwise_conv2d_nhwc(isa, s, input, packed, poet::kernels::Activation::kRelu6,
                                     output, pool.get());
        }
        break;
      case WindowOp::kMaxPool:
        x86::pool_nhwc(isa, x86::PoolKind::kMax, s, input, output, pool.get());
        break;
      case WindowOp::kAvgPool:
        x86::pool_nhwc(isa, x86::PoolKind::kAvg, s, input, output, pool.get());
        break;
    }
    benchmark::DoNotOptimize(output.data());
  }
  set_counters(state, layer);
}

// The same depthwise layer (bias, Relu6) on oneDNN's primitive, as `--backend_op
// DepthwiseConv2dNative=onednn` runs it.
void BM_DepthwiseOneDnn(benchmark::State& state, const WindowLayer& layer, int threads) {
  const poet::kernels::ConvShape s = layer.shape();
  auto input = random_floats(s.input_size());
  auto filter = random_floats(s.k_h * s.k_w * s.out_c);
  auto bias = random_floats(s.out_c);
  Buffer output = random_floats(s.output_size());
  poet::kernels::onednn::set_num_threads(threads);
  poet::kernels::onednn::Conv2dPrimitive conv(s, poet::kernels::onednn::ConvKind::kDepthwise,
                                              filter, bias, poet::kernels::Activation::kRelu6);
  for (auto _ : state) {
    conv.run(input, output);
    benchmark::DoNotOptimize(output.data());
  }
  set_counters(state, layer);
}

void register_layers(const std::vector<WindowLayer>& layers) {
  for (const WindowLayer& layer : layers) {
    for (x86::Isa isa : x86::available_isas()) {
      for (int threads : {1, 2}) {
        if (isa == x86::Isa::kRef && threads > 1) continue;  // the reference is single-threaded
        std::string name = layer.name + "/" + std::string(x86::isa_name(isa)) +
                           "/threads:" + std::to_string(threads);
        auto* b = benchmark::RegisterBenchmark(name.c_str(), BM_Window, layer, isa, threads)
                      ->Unit(benchmark::kMicrosecond);
        if (threads > 1) b->MeasureProcessCPUTime();
      }
    }
    if (layer.op != WindowOp::kDepthwise) continue;
    for (int threads : {1, 2}) {
      std::string name = layer.name + "/onednn/threads:" + std::to_string(threads);
      auto* b = benchmark::RegisterBenchmark(name.c_str(), BM_DepthwiseOneDnn, layer, threads)
                    ->Unit(benchmark::kMicrosecond);
      if (threads > 1) b->MeasureProcessCPUTime();
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_layers(poet::testing::mobilenet_v1_depthwise_layers(224, 100));
  register_layers(poet::testing::mobilenet_v1_depthwise_layers(128, 25));
  register_layers(poet::testing::pool_layers());
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
