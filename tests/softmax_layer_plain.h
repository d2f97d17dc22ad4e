// The new final layer's forward pass and gradients as plain loops, one row at a time, summed in
// double: the oracle that trainer/softmax_layer.cc's blocked loops equal to the last bit
// (trainer_softmax_test.cc), and the baseline they are timed against (bench/trainer_bench.cc).
#pragma once

#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

namespace poet::testing {

// x W + b, [batch, classes]; `weights` is [inputs, classes].
inline std::vector<double> plain_logits(std::span<const float> x, std::span<const float> weights,
                                        std::span<const float> biases) {
  const size_t classes = biases.size(), inputs = weights.size() / classes;
  const size_t batch = x.size() / inputs;
  std::vector<double> logits(batch * classes);
  for (size_t b = 0; b < batch; ++b) {
    double* row = logits.data() + b * classes;
    for (size_t c = 0; c < classes; ++c) row[c] = biases[c];
    for (size_t k = 0; k < inputs; ++k)
      for (size_t c = 0; c < classes; ++c)
        row[c] += double{x[b * inputs + k]} * weights[k * classes + c];
  }
  return logits;
}

struct PlainGradients {
  std::vector<double> weights, biases;
};

// The mean cross-entropy's gradients: dW = x^T (p - y) / batch, db = mean(p - y).
inline PlainGradients plain_gradients(std::span<const float> x, std::span<const int> labels,
                                      std::span<const float> weights,
                                      std::span<const float> biases) {
  const size_t classes = biases.size(), inputs = weights.size() / classes;
  const size_t batch = labels.size();
  std::vector<double> logits = plain_logits(x, weights, biases);
  PlainGradients g{std::vector<double>(weights.size(), 0.0), std::vector<double>(classes, 0.0)};
  for (size_t b = 0; b < batch; ++b) {
    const double* row = logits.data() + b * classes;
    const double max = *std::max_element(row, row + classes);
    std::vector<double> p(classes);
    double sum = 0;
    for (size_t c = 0; c < classes; ++c) sum += p[c] = std::exp(row[c] - max);
    for (double& v : p) v /= sum;
    p[labels[b]] -= 1.0;
    for (size_t c = 0; c < classes; ++c) g.biases[c] += p[c];
    for (size_t k = 0; k < inputs; ++k)
      for (size_t c = 0; c < classes; ++c)
        g.weights[k * classes + c] += double{x[b * inputs + k]} * p[c];
  }
  for (double& v : g.weights) v *= 1.0 / static_cast<double>(batch);
  for (double& v : g.biases) v *= 1.0 / static_cast<double>(batch);
  return g;
}

}  // namespace poet::testing
