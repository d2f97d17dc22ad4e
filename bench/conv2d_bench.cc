// Conv2D speed on every distinct conv shape of Inception v3 and of MobileNet v1 1.0_224 and
// 0.25_128 (first layer and pointwise layers): the SIMD kernel for each ISA (1 and 2 threads) and,
// on a few small layers, the reference; and oneDNN's convolution (1 and 2 OpenMP threads) on every
// layer, so native and oneDNN compare layer by layer. Counters: GFLOP/s per busy core (see
// register_layers on timing) and, for the SIMD kernels, that as a fraction of the measured
// single-core FMA peak ("peak").
//   ./build/bench/conv2d_bench --benchmark_filter='Mixed_6b_1x1_192'
// With --cold, the caches are emptied before each timed call and the layer's input and output
// brought back: its weights come from memory, as in a graph, where they were last read a whole
// run earlier (see evict_weights). Two-thread rows then include waking the pool's threads,
// asleep after the eviction; read their CPU column. The eviction takes about 4 ms a call here,
// so keep --benchmark_min_time short (0.05-0.2). With --cold_output, the same but the output's
// lines are left in memory too, as a graph's layer finds them where its output was last
// written a run earlier (what kernels/x86/prefetch_for_writing.h is about).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <random>
#include <span>
#include <string>
#include <string_view>

#include "engine/thread_pool.h"
#include "kernels/onednn/conv2d.h"
#include "kernels/onednn/engine.h"
#include "kernels/ref/conv2d.h"
#include "kernels/x86/conv2d_nhwc.h"
#include "kernels/x86/conv2d_winograd.h"
#include "kernels/x86/fma_peak.h"
#include "tests/layer_shapes.h"

namespace {

namespace x86 = poet::kernels::x86;
using poet::testing::ConvLayer;

std::vector<float> random_floats(int64_t n) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

bool g_cold = false;         // --cold or --cold_output
bool g_cold_output = false;  // --cold_output

// Before a timed call under --cold: write a buffer twice the size of a 32 MiB L3, evicting
// everything, then read the input and write the output (not under --cold_output), which in a
// graph the layers around this one have often just touched. Untimed. It leaves the weights in
// memory, where a graph's convolutions find most of theirs (MobileNet v1 1.0 holds 17 MB,
// Inception v3 95 MB).
void evict_weights(benchmark::State& state, std::span<const float> input, std::span<float> output) {
  if (!g_cold) return;
  state.PauseTiming();
  static std::vector<char> junk(64 << 20);
  for (size_t i = 0; i < junk.size(); i += 64) junk[i] = static_cast<char>(junk[i] + 1);
  float sum = 0;
  for (float x : input) sum += x;
  if (!g_cold_output) std::fill(output.begin(), output.end(), 0.f);
  benchmark::DoNotOptimize(sum);
  state.ResumeTiming();
}

double fma_peak(x86::Isa isa) {
  static std::map<x86::Isa, double> peaks;
  auto it = peaks.find(isa);
  if (it == peaks.end()) it = peaks.emplace(isa, x86::measure_fma_peak(isa, 0.5)).first;
  return it->second;
}

void BM_FmaPeak(benchmark::State& state, x86::Isa isa) {
  double gflops = 0;
  for (auto _ : state) gflops = x86::measure_fma_peak(isa, 0.2);
  state.counters["GFLOP/s"] = gflops;
}

void BM_Conv(benchmark::State& state, const ConvLayer& layer, x86::Isa isa, int threads) {
  const poet::kernels::ConvShape s = layer.shape();
  auto input = random_floats(s.input_size());
  auto filter = random_floats(s.k_h * s.k_w * s.in_c * s.out_c);
  std::vector<float> output(s.output_size());
  if (isa == x86::Isa::kRef) {
    for (auto _ : state)
      poet::kernels::ref::conv2d(s, input, filter, {}, poet::kernels::Activation::kNone, output);
  } else {
    auto packed = x86::pack_conv_filter(isa, s.k_h, s.k_w, s.in_c, s.out_c, filter);
    std::unique_ptr<poet::ThreadPool> pool;
    if (threads > 1) pool = std::make_unique<poet::ThreadPool>(threads);
    // Planned once, as the Conv2D op does: planning per call cost the stem, 3700 tiles, a third
    // of its time here.
    const x86::Conv2dNhwcPlan plan(s, packed, threads);
    for (auto _ : state) {
      evict_weights(state, input, output);
      x86::conv2d_nhwc(plan, input, packed, {}, poet::kernels::Activation::kNone, output,
                       pool.get());
    }
  }
  const double flops = static_cast<double>(layer.flops());
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  if (isa != x86::Isa::kRef) {
    state.counters["peak"] = benchmark::Counter(flops / (fma_peak(isa) * 1e9),
                                                benchmark::Counter::kIsIterationInvariantRate);
  }
}

// Winograd on the stride-1 layers it computes (3x3, 5x5, 1x7, 7x1, 1x3, 3x1; whether or not the
// Conv2D op chooses it there). GFLOP/s and "peak" count the direct convolution's FLOPs (the
// work the layer stands for), so they compare with the rows above; above 1.0 "peak" means
// faster than the direct kernel could be at the FMA peak.
void BM_ConvWinograd(benchmark::State& state, const ConvLayer& layer, x86::Isa isa, int threads) {
  const poet::kernels::ConvShape s = layer.shape();
  auto input = random_floats(s.input_size());
  auto filter = random_floats(s.k_h * s.k_w * s.in_c * s.out_c);
  std::vector<float> output(s.output_size());
  auto packed = x86::pack_winograd_filter(isa, s.k_h, s.k_w, s.in_c, s.out_c, filter);
  std::unique_ptr<poet::ThreadPool> pool;
  if (threads > 1) pool = std::make_unique<poet::ThreadPool>(threads);
  for (auto _ : state) {
    evict_weights(state, input, output);
    x86::conv2d_winograd(s, input, packed, {}, poet::kernels::Activation::kNone, output,
                         pool.get());
  }
  const double flops = static_cast<double>(layer.flops());
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak"] = benchmark::Counter(flops / (fma_peak(isa) * 1e9),
                                              benchmark::Counter::kIsIterationInvariantRate);
}

// oneDNN has no ISA choice here: it picks its own (AVX-512 where available). Its "peak" is
// against the fastest ISA's measured peak.
void BM_ConvOneDnn(benchmark::State& state, const ConvLayer& layer, int threads) {
  const poet::kernels::ConvShape s = layer.shape();
  auto input = random_floats(s.input_size());
  auto filter = random_floats(s.k_h * s.k_w * s.in_c * s.out_c);
  std::vector<float> output(s.output_size());
  poet::kernels::onednn::set_num_threads(threads);
  poet::kernels::onednn::Conv2dPrimitive conv(s, poet::kernels::onednn::ConvKind::kDense, filter,
                                              {}, poet::kernels::Activation::kNone);
  for (auto _ : state) {
    evict_weights(state, input, output);
    conv.run(input, output);
  }
  const double flops = static_cast<double>(layer.flops());
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  const x86::Isa best = x86::isa_available(x86::Isa::kAvx512) ? x86::Isa::kAvx512 : x86::Isa::kAvx2;
  state.counters["peak"] = benchmark::Counter(flops / (fma_peak(best) * 1e9),
                                              benchmark::Counter::kIsIterationInvariantRate);
}

void register_layers(const std::vector<ConvLayer>& layers, const char* net) {
  for (const ConvLayer& layer : layers) {
    for (x86::Isa isa : x86::available_isas()) {
      if (isa == x86::Isa::kRef) {
        // The reference is slow: only layers under ~0.2 GFLOP, a few iterations.
        if (layer.flops() < 200'000'000)
          benchmark::RegisterBenchmark(
              (std::string(net) + "/" + std::string(layer.name) + "/ref").c_str(), BM_Conv, layer,
              isa, 1)
              ->Iterations(3)
              ->Unit(benchmark::kMillisecond);
        continue;
      }
      for (int threads : {1, 2}) {
        std::string name = std::string(net) + "/" + std::string(layer.name) + "/" +
                           std::string(x86::isa_name(isa)) + "/threads:" + std::to_string(threads);
        if (x86::winograd_applies(layer.shape())) {
          std::string wino = std::string(net) + "/" + std::string(layer.name) + "/winograd_" +
                             std::string(x86::isa_name(isa)) +
                             "/threads:" + std::to_string(threads);
          auto* w = benchmark::RegisterBenchmark(wino.c_str(), BM_ConvWinograd, layer, isa, threads)
                        ->Unit(benchmark::kMillisecond);
          if (threads > 1) w->MeasureProcessCPUTime();
        }
        // Timed on CPU time, which other processes sharing the cores do not inflate: with two
        // threads the process's (both threads'), so GFLOP/s is per busy core and "peak" the
        // fraction of one core's peak; on an idle machine wall time is about CPU time / 2.
        auto* b = benchmark::RegisterBenchmark(name.c_str(), BM_Conv, layer, isa, threads)
                      ->Unit(benchmark::kMillisecond);
        if (threads > 1) b->MeasureProcessCPUTime();
      }
    }
    for (int threads : {1, 2}) {
      std::string name = std::string(net) + "/" + std::string(layer.name) +
                         "/onednn/threads:" + std::to_string(threads);
      // CPU time as above; OpenMP's spin-waiting would count as busy, so run this with
      // OMP_WAIT_POLICY=passive (see kernels/onednn/engine.h).
      auto* b = benchmark::RegisterBenchmark(name.c_str(), BM_ConvOneDnn, layer, threads)
                    ->Unit(benchmark::kMillisecond);
      if (threads > 1) b->MeasureProcessCPUTime();
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  // --cold and --cold_output are ours; Google Benchmark rejects flags it does not know.
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--cold" || arg == "--cold_output") {
      g_cold = true;
      g_cold_output = g_cold_output || arg == "--cold_output";
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  for (x86::Isa isa : x86::available_isas()) {
    if (isa == x86::Isa::kRef) continue;
    benchmark::RegisterBenchmark(("FmaPeak/" + std::string(x86::isa_name(isa))).c_str(), BM_FmaPeak,
                                 isa)
        ->Iterations(1);
  }
  register_layers(poet::testing::inception_v3_conv_layers(), "InceptionV3");
  register_layers(poet::testing::mobilenet_v1_conv_layers(), "MobileNetV1");
  register_layers(poet::testing::mobilenet_v1_025_conv_layers(), "MobileNetV1_0.25_128");
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
