#include "trainer/normalisation.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"

namespace poet::trainer {

FeatureStatistics::FeatureStatistics(int size) {
  if (size < 1) fail("--normalize_bottlenecks: bottleneck size ", size, " must be positive");
  mean_.assign(static_cast<size_t>(size), 0.0);
  m2_.assign(static_cast<size_t>(size), 0.0);
}

void FeatureStatistics::add(std::span<const float> row) {
  if (row.size() != mean_.size())
    fail("--normalize_bottlenecks: a row of ", row.size(), " values, expected ", mean_.size());
  ++count_;
  for (size_t i = 0; i < row.size(); ++i) {
    const double delta = row[i] - mean_[i];
    mean_[i] += delta / static_cast<double>(count_);
    m2_[i] += delta * (row[i] - mean_[i]);
  }
}

FeatureNormalisation FeatureStatistics::finish() const {
  if (count_ == 0) fail("--normalize_bottlenecks: no training bottleneck to take statistics of");
  FeatureNormalisation f;
  f.mean_.resize(mean_.size());
  f.scale_.resize(mean_.size());
  for (size_t i = 0; i < mean_.size(); ++i) {
    const double stddev = std::sqrt(m2_[i] / static_cast<double>(count_));
    f.mean_[i] = static_cast<float>(mean_[i]);
    // Below this a feature is constant up to float rounding of its mean.
    const bool constant = stddev <= 1e-6 * std::max(1.0, std::fabs(mean_[i]));
    f.scale_[i] = constant ? 1.0f : static_cast<float>(1.0 / stddev);
  }
  return f;
}

FeatureNormalisation FeatureNormalisation::fit(std::span<const float> rows, int size) {
  if (size < 1 || rows.empty() || rows.size() % static_cast<size_t>(size) != 0)
    fail("--normalize_bottlenecks: ", rows.size(), " values are not whole rows of ", size);
  FeatureStatistics stats(size);
  for (size_t r = 0; r < rows.size(); r += static_cast<size_t>(size))
    stats.add(rows.subspan(r, static_cast<size_t>(size)));
  return stats.finish();
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
