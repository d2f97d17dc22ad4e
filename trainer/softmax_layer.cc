#include "trainer/softmax_layer.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"
#include "trainer/random.h"

namespace poet::trainer {
namespace {

void check_sizes(int input_size, int classes) {
  if (input_size < 1) fail("softmax layer: input size ", input_size, " must be positive");
  if (classes < 2) fail("softmax layer: ", classes, " classes; at least two are needed");
}

// Classes are summed eight at a time: eight sums make four independent chains of SSE2 adds,
// enough to overlap the add's latency (one class at a time, its sum in memory, ran five times
// slower).
constexpr size_t kClassBlock = 8;

size_t padded_classes(size_t classes) {
  return (classes + kClassBlock - 1) / kClassBlock * kClassBlock;
}

// The weights as doubles, each row padded with zeros to padded_classes(classes), into `out`.
void pad_weights(std::span<const float> weights, size_t classes, std::vector<double>& out) {
  const size_t inputs = weights.size() / classes, padded = padded_classes(classes);
  out.assign(inputs * padded, 0.0);
  for (size_t k = 0; k < inputs; ++k)
    std::copy_n(weights.data() + k * classes, classes, out.data() + k * padded);
}

// x W + b, [batch, classes], with W padded (pad_weights). Each sum runs in double in the order
// k = 0, 1, ..., as the plain loop over one row and one class would take it, so the results do
// not depend on the blocking.
std::vector<double> logits_of(std::span<const float> inputs, std::span<const double> w,
                              std::span<const float> biases) {
  const size_t classes = biases.size(), padded = padded_classes(classes);
  const size_t input_size = w.size() / padded, batch = inputs.size() / input_size;
  std::vector<double> logits(batch * classes);
  for (size_t r = 0; r < batch; ++r) {
    const float* x = inputs.data() + r * input_size;
    for (size_t c0 = 0; c0 < padded; c0 += kClassBlock) {
      double sum[kClassBlock];
      for (size_t j = 0; j < kClassBlock; ++j) sum[j] = c0 + j < classes ? biases[c0 + j] : 0.0;
      for (size_t k = 0; k < input_size; ++k) {
        const double xk = x[k];
        const double* wk = w.data() + k * padded + c0;
#pragma GCC unroll 8  // keeps the sums in registers
        for (size_t j = 0; j < kClassBlock; ++j) sum[j] += xk * wk[j];
      }
      for (size_t j = 0; j < kClassBlock && c0 + j < classes; ++j)
        logits[r * classes + c0 + j] = sum[j];
    }
  }
  return logits;
}

// dW[k][c] = sum over rows r of x[r][k] d[r][c], each sum in double in the order r = 0, 1, ...;
// `d` is [batch, padded_classes(classes)], its columns past the layer's classes zero.
std::vector<double> weight_gradients(std::span<const float> inputs, size_t input_size,
                                     std::span<const double> d, size_t classes) {
  const size_t padded = padded_classes(classes), batch = inputs.size() / input_size;
  std::vector<double> dw(input_size * classes), column(batch);
  for (size_t k = 0; k < input_size; ++k) {
    for (size_t r = 0; r < batch; ++r) column[r] = inputs[r * input_size + k];
    for (size_t c0 = 0; c0 < padded; c0 += kClassBlock) {
      double sum[kClassBlock] = {};
      for (size_t r = 0; r < batch; ++r) {
        const double* dr = d.data() + r * padded + c0;
#pragma GCC unroll 8  // keeps the sums in registers
        for (size_t j = 0; j < kClassBlock; ++j) sum[j] += column[r] * dr[j];
      }
      for (size_t j = 0; j < kClassBlock && c0 + j < classes; ++j)
        dw[k * classes + c0 + j] = sum[j];
    }
  }
  return dw;
}

// Turns a logits row into probabilities in place; returns log(sum(exp(logits))).
double softmax_in_place(std::span<double> row) {
  double max = *std::max_element(row.begin(), row.end());
  double sum = 0;
  for (double& v : row) {
    v = std::exp(v - max);
    sum += v;
  }
  for (double& v : row) v /= sum;
  return max + std::log(sum);
}

// A labelled batch's forward pass, and the sums that evaluate() and gradients() average.
struct Forward {
  std::vector<double> logits, probabilities;  // [batch, classes]
  std::vector<int> predictions;               // each row's first maximum, as tf.argmax
  double cross_entropy_sum = 0;
  int correct = 0;
};

Forward forward(std::span<const float> inputs, std::span<const int> labels,
                std::span<const double> padded_weights, std::span<const float> biases) {
  const size_t classes = biases.size();
  Forward f;
  f.logits = logits_of(inputs, padded_weights, biases);
  f.probabilities = f.logits;
  for (size_t b = 0; b < labels.size(); ++b) {
    const size_t first = b * classes;
    std::span<double> row(f.probabilities.data() + first, classes);
    f.cross_entropy_sum += softmax_in_place(row) - f.logits[first + labels[b]];
    const int predicted = static_cast<int>(std::max_element(row.begin(), row.end()) - row.begin());
    f.predictions.push_back(predicted);
    f.correct += predicted == labels[b];
  }
  return f;
}

}  // namespace

SoftmaxLayer::SoftmaxLayer(int input_size, int classes, uint64_t seed)
    : input_size_(input_size), classes_(classes) {
  check_sizes(input_size, classes);
  Random random(seed);
  weights_.resize(static_cast<size_t>(input_size) * classes);
  for (float& w : weights_) w = static_cast<float>(random.truncated_normal() * kInitStddev);
  biases_.assign(classes, 0.0f);
  pad_weights(weights_, classes_, padded_weights_);
}

SoftmaxLayer::SoftmaxLayer(int input_size, int classes, std::vector<float> weights,
                           std::vector<float> biases)
    : input_size_(input_size),
      classes_(classes),
      weights_(std::move(weights)),
      biases_(std::move(biases)) {
  check_sizes(input_size, classes);
  if (weights_.size() != static_cast<size_t>(input_size) * classes)
    fail("softmax layer: ", weights_.size(), " weights, expected ", input_size, "x", classes);
  if (biases_.size() != static_cast<size_t>(classes))
    fail("softmax layer: ", biases_.size(), " biases, expected ", classes);
  pad_weights(weights_, classes_, padded_weights_);
}

Tensor SoftmaxLayer::weights_tensor() const {
  return Tensor::from_floats({input_size_, classes_}, weights_);
}

Tensor SoftmaxLayer::biases_tensor() const { return Tensor::from_floats({classes_}, biases_); }

int SoftmaxLayer::batch_of(std::span<const float> inputs) const {
  if (inputs.size() % input_size_ != 0)
    fail("softmax layer: ", inputs.size(), " input values are not rows of ", input_size_);
  return static_cast<int>(inputs.size() / input_size_);
}

void SoftmaxLayer::check_labels(std::span<const int> labels, int batch) const {
  if (labels.size() != static_cast<size_t>(batch))
    fail("softmax layer: ", labels.size(), " labels for a batch of ", batch);
  for (int label : labels)
    if (label < 0 || label >= classes_)
      fail("softmax layer: label ", label, " is outside [0, ", classes_, ")");
}

std::vector<double> SoftmaxLayer::logits(std::span<const float> inputs) const {
  batch_of(inputs);  // checks the size
  return logits_of(inputs, padded_weights_, biases_);
}

std::vector<double> SoftmaxLayer::probabilities(std::span<const float> inputs) const {
  std::vector<double> probs = logits(inputs);
  for (size_t r = 0; r < probs.size(); r += classes_)
    softmax_in_place(std::span<double>(probs).subspan(r, classes_));
  return probs;
}

Evaluation SoftmaxLayer::evaluate(std::span<const float> inputs,
                                  std::span<const int> labels) const {
  const int batch = batch_of(inputs);
  check_labels(labels, batch);
  Evaluation result;
  if (batch == 0) return result;
  Forward f = forward(inputs, labels, padded_weights_, biases_);
  result.cross_entropy = f.cross_entropy_sum / batch;
  result.accuracy = static_cast<double>(f.correct) / batch;
  result.predictions = std::move(f.predictions);
  result.logits = std::move(f.logits);
  result.probabilities = std::move(f.probabilities);
  return result;
}

Gradients SoftmaxLayer::gradients(std::span<const float> inputs,
                                  std::span<const int> labels) const {
  const int batch = batch_of(inputs);
  check_labels(labels, batch);
  if (batch == 0) fail("softmax layer: cannot train on an empty batch");
  Forward f = forward(inputs, labels, padded_weights_, biases_);
  Gradients g;
  g.loss = f.cross_entropy_sum;
  g.accuracy = f.correct;
  g.biases.assign(classes_, 0.0);
  const size_t padded = padded_classes(classes_);
  std::vector<double> d(static_cast<size_t>(batch) * padded, 0.0);  // p - y
  for (int b = 0; b < batch; ++b) {
    const double* p = f.probabilities.data() + static_cast<size_t>(b) * classes_;
    std::span<double> d_row(d.data() + static_cast<size_t>(b) * padded, classes_);
    std::copy(p, p + classes_, d_row.begin());
    d_row[labels[b]] -= 1.0;
    for (int c = 0; c < classes_; ++c) g.biases[c] += d_row[c];
  }
  g.weights = weight_gradients(inputs, input_size_, d, classes_);
  const double scale = 1.0 / batch;
  g.loss *= scale;
  g.accuracy *= scale;
  for (double& v : g.weights) v *= scale;
  for (double& v : g.biases) v *= scale;
  g.logits = std::move(f.logits);
  g.probabilities = std::move(f.probabilities);
  return g;
}

void SoftmaxLayer::apply(const Gradients& g, double learning_rate) {
  if (g.weights.size() != weights_.size() || g.biases.size() != biases_.size())
    fail("softmax layer: gradients do not match the layer's shape");
  for (size_t i = 0; i < weights_.size(); ++i)
    weights_[i] = static_cast<float>(weights_[i] - learning_rate * g.weights[i]);
  for (size_t i = 0; i < biases_.size(); ++i)
    biases_[i] = static_cast<float>(biases_[i] - learning_rate * g.biases[i]);
  pad_weights(weights_, classes_, padded_weights_);
}

}  // namespace poet::trainer
