#include "trainer/normalisation.h"

#include <cmath>

#include "engine/error.h"

namespace poet::trainer {

FeatureNormalisation FeatureNormalisation::fit(std::span<const float> rows, int size) {
  if (size < 1 || rows.empty() || rows.size() % static_cast<size_t>(size) != 0)
    fail("--normalize_bottlenecks: ", rows.size(), " values are not whole rows of ", size);
  const size_t n = rows.size() / static_cast<size_t>(size), k = static_cast<size_t>(size);
  std::vector<double> sum(k, 0.0), sum_sq(k, 0.0);
  for (size_t r = 0; r < n; ++r) {
    for (size_t i = 0; i < k; ++i) sum[i] += rows[r * k + i];
  }
  FeatureNormalisation f;
  f.mean_.resize(k);
  f.scale_.resize(k);
  for (size_t i = 0; i < k; ++i) sum[i] /= static_cast<double>(n);
  // Two passes: the variance of values far from zero stays accurate.
  for (size_t r = 0; r < n; ++r) {
    for (size_t i = 0; i < k; ++i) {
      const double d = rows[r * k + i] - sum[i];
      sum_sq[i] += d * d;
    }
  }
  for (size_t i = 0; i < k; ++i) {
    const double stddev = std::sqrt(sum_sq[i] / static_cast<double>(n));
    f.mean_[i] = static_cast<float>(sum[i]);
    // Below this a feature is constant up to float rounding of its mean.
    const bool constant = stddev <= 1e-6 * std::max(1.0, std::fabs(sum[i]));
    f.scale_[i] = constant ? 1.0f : static_cast<float>(1.0 / stddev);
  }
  return f;
}

void FeatureNormalisation::apply(std::span<float> rows) const {
  const size_t k = mean_.size();
  if (rows.size() % k != 0)
    fail("--normalize_bottlenecks: ", rows.size(), " values are not whole rows of ", k);
  for (size_t r = 0; r < rows.size(); r += k) {
    for (size_t i = 0; i < k; ++i) rows[r + i] = (rows[r + i] - mean_[i]) * scale_[i];
  }
}

SoftmaxLayer FeatureNormalisation::fold(const SoftmaxLayer& layer) const {
  const size_t k = mean_.size(), classes = static_cast<size_t>(layer.classes());
  if (static_cast<size_t>(layer.input_size()) != k)
    fail("--normalize_bottlenecks: a layer of ", layer.input_size(), " inputs for ", k,
         " normalised features");
  std::span<const float> w = layer.weights();
  std::vector<double> bias(layer.biases().begin(), layer.biases().end());
  std::vector<float> weights(w.size());
  for (size_t i = 0; i < k; ++i) {
    for (size_t c = 0; c < classes; ++c) {
      const double scaled = static_cast<double>(w[i * classes + c]) * scale_[i];
      weights[i * classes + c] = static_cast<float>(scaled);
      bias[c] -= static_cast<double>(mean_[i]) * scaled;
    }
  }
  return SoftmaxLayer(layer.input_size(), layer.classes(), std::move(weights),
                      std::vector<float>(bias.begin(), bias.end()));
}

}  // namespace poet::trainer
