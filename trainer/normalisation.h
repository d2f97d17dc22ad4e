// --normalize_bottlenecks: each bottleneck feature standardised by the training set's mean
// and standard deviation before the new layer, so the learning rate no longer depends on the
// network's feature scale (the TF.js Inception v3's features are about ten times smaller than
// the 2015 graph's, and retrain.py's learning rate 0.01 then trains far too slowly).
//
// The exported graph keeps retrain.py's node layout: the normalisation is folded into the new
// layer's constants, ((x - mean) * s) W + b = x (s W) + (b - (mean * s) W), so feeding the
// raw bottleneck (or the image) to the written graph gives the training-time probabilities.
#pragma once

#include <span>
#include <vector>

#include "trainer/softmax_layer.h"

namespace poet::trainer {

class FeatureNormalisation;

// Per-feature mean and variance of rows added one at a time (Welford's update, in double), so
// a large training set needs no more memory than one row of sums.
class FeatureStatistics {
 public:
  explicit FeatureStatistics(int size);
  void add(std::span<const float> row);
  size_t count() const { return count_; }
  // Needs at least one row. A feature that is constant over the rows (a ReLU that never
  // fires) keeps scale 1: it is only centred.
  FeatureNormalisation finish() const;

 private:
  size_t count_ = 0;
  std::vector<double> mean_, m2_;
};

class FeatureNormalisation {
 public:
  // Statistics of `rows` (row-major [n, size], n >= 1).
  static FeatureNormalisation fit(std::span<const float> rows, int size);

  std::span<const float> mean() const { return mean_; }
  std::span<const float> scale() const { return scale_; }
  // x -> (x - mean) * scale, for every row of `rows`.
  void apply(std::span<float> rows) const;
  // The layer that computes on raw inputs what `layer` computes on normalised ones.
  SoftmaxLayer fold(const SoftmaxLayer& layer) const;

 private:
  friend class FeatureStatistics;
  std::vector<float> mean_, scale_;
};

}  // namespace poet::trainer
