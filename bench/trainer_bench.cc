// One retrain step's arithmetic besides the network: the new layer's gradients and forward pass
// (trainer/softmax_layer.cc) against the plain loops they replace (tests/softmax_layer_plain.h),
// and one step's TensorBoard histograms. Shapes: MobileNet's 1001 bottleneck values into the
// fruit set's 22 classes, and Inception v3's 2048 into 5 (the flowers) and 102 classes, at
// retrain.py's batch of 100.
//   ./build/bench/trainer_bench --benchmark_filter=Gradients
#include <benchmark/benchmark.h>

#include <random>

#include "tests/softmax_layer_plain.h"
#include "trainer/softmax_layer.h"
#include "trainer/summary/summary_writer.h"

namespace {

constexpr int kBatch = 100;

struct Problem {
  std::vector<float> x, weights, biases;
  std::vector<int> labels;
};

Problem problem(int inputs, int classes) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.f, 1.f);
  Problem p{std::vector<float>(static_cast<size_t>(kBatch) * inputs),
            std::vector<float>(static_cast<size_t>(inputs) * classes), std::vector<float>(classes),
            std::vector<int>(kBatch)};
  for (float& v : p.x) v = normal(rng);
  for (float& v : p.weights) v = 0.01f * normal(rng);
  for (int b = 0; b < kBatch; ++b) p.labels[b] = b % classes;
  return p;
}

void BM_Gradients(benchmark::State& state) {
  const Problem p = problem(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  const poet::trainer::SoftmaxLayer layer(static_cast<int>(state.range(0)),
                                          static_cast<int>(state.range(1)), p.weights, p.biases);
  for (auto _ : state) benchmark::DoNotOptimize(layer.gradients(p.x, p.labels));
}

void BM_GradientsPlain(benchmark::State& state) {
  const Problem p = problem(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  for (auto _ : state)
    benchmark::DoNotOptimize(poet::testing::plain_gradients(p.x, p.labels, p.weights, p.biases));
}

void BM_Logits(benchmark::State& state) {
  const Problem p = problem(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  const poet::trainer::SoftmaxLayer layer(static_cast<int>(state.range(0)),
                                          static_cast<int>(state.range(1)), p.weights, p.biases);
  for (auto _ : state) benchmark::DoNotOptimize(layer.logits(p.x));
}

void BM_LogitsPlain(benchmark::State& state) {
  const Problem p = problem(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  for (auto _ : state)
    benchmark::DoNotOptimize(poet::testing::plain_logits(p.x, p.weights, p.biases));
}

// The values of one step's four histograms on the fruit set: 1001 x 22 weights, 22 biases, and
// 100 x 22 logits and probabilities.
void BM_Histogram(benchmark::State& state) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.f, 0.05f);
  std::vector<float> values(1001 * 22 + 22 + 2 * 100 * 22);
  for (float& v : values) v = normal(rng);
  for (auto _ : state) benchmark::DoNotOptimize(poet::summary::make_histogram(values, "h"));
}

void shapes(benchmark::internal::Benchmark* b) {
  b->Args({1001, 22})->Args({2048, 5})->Args({2048, 102})->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_Gradients)->Apply(shapes);
BENCHMARK(BM_GradientsPlain)->Apply(shapes);
BENCHMARK(BM_Logits)->Apply(shapes);
BENCHMARK(BM_LogitsPlain)->Apply(shapes);
BENCHMARK(BM_Histogram)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
