#include "trainer/softmax_layer.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"
#include "kernels/x86/matmul_f64.h"
#include "trainer/random.h"

namespace poet::trainer {
namespace {

void check_sizes(int input_size, int classes) {
  if (input_size < 1) fail("softmax layer: input size ", input_size, " must be positive");
  if (classes < 2) fail("softmax layer: ", classes, " classes; at least two are needed");
}

// x W + b, [batch, classes]: each sum starts at its bias and runs in double in the order
// k = 0, 1, ..., as the plain loop over one row and one class would take it.
std::vector<double> logits_of(std::span<const float> inputs, std::span<const double> weights,
                              std::span<const float> biases, ThreadPool* pool) {
  const int64_t classes = std::ssize(biases), input_size = std::ssize(weights) / classes;
  const int64_t batch = std::ssize(inputs) / input_size;
  std::vector<double> logits(batch * classes);
  for (int64_t r = 0; r < batch; ++r)
    std::copy(biases.begin(), biases.end(), logits.begin() + r * classes);
  kernels::x86::matmul_f64(kernels::x86::active_isa(),
                           {.m = batch,
                            .n = classes,
                            .k = input_size,
                            .a_row = input_size,
                            .a_col = 1,
                            .ldb = classes,
                            .ldc = classes},
                           inputs, weights, logits, pool);
  return logits;
}

// dW = x^T d, [input_size, classes], each sum in double in the order r = 0, 1, ...; `d` is
// [batch, classes].
std::vector<double> weight_gradients(std::span<const float> inputs, int64_t input_size,
                                     std::span<const double> d, int64_t classes, ThreadPool* pool) {
  const int64_t batch = std::ssize(inputs) / input_size;
  std::vector<double> dw(input_size * classes, 0.0);
  kernels::x86::matmul_f64(kernels::x86::active_isa(),
                           {.m = input_size,
                            .n = classes,
                            .k = batch,
                            .a_row = 1,
                            .a_col = input_size,
                            .ldb = classes,
                            .ldc = classes},
                           inputs, d, dw, pool);
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
                std::span<const double> weights, std::span<const float> biases, ThreadPool* pool) {
  const size_t classes = biases.size();
  Forward f;
  f.logits = logits_of(inputs, weights, biases, pool);
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
  weights_f64_.assign(weights_.begin(), weights_.end());
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
  weights_f64_.assign(weights_.begin(), weights_.end());
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

std::vector<double> SoftmaxLayer::logits(std::span<const float> inputs, ThreadPool* pool) const {
  batch_of(inputs);  // checks the size
  return logits_of(inputs, weights_f64_, biases_, pool);
}

std::vector<double> SoftmaxLayer::probabilities(std::span<const float> inputs,
                                                ThreadPool* pool) const {
  std::vector<double> probs = logits(inputs, pool);
  for (size_t r = 0; r < probs.size(); r += classes_)
    softmax_in_place(std::span<double>(probs).subspan(r, classes_));
  return probs;
}

Evaluation SoftmaxLayer::evaluate(std::span<const float> inputs, std::span<const int> labels,
                                  ThreadPool* pool) const {
  const int batch = batch_of(inputs);
  check_labels(labels, batch);
  Evaluation result;
  if (batch == 0) return result;
  Forward f = forward(inputs, labels, weights_f64_, biases_, pool);
  result.cross_entropy = f.cross_entropy_sum / batch;
  result.accuracy = static_cast<double>(f.correct) / batch;
  result.predictions = std::move(f.predictions);
  result.logits = std::move(f.logits);
  result.probabilities = std::move(f.probabilities);
  return result;
}

Gradients SoftmaxLayer::gradients(std::span<const float> inputs, std::span<const int> labels,
                                  ThreadPool* pool) const {
  const int batch = batch_of(inputs);
  check_labels(labels, batch);
  if (batch == 0) fail("softmax layer: cannot train on an empty batch");
  Forward f = forward(inputs, labels, weights_f64_, biases_, pool);
  Gradients g;
  g.loss = f.cross_entropy_sum;
  g.accuracy = f.correct;
  g.biases.assign(classes_, 0.0);
  std::vector<double> d = f.probabilities;  // p - y
  for (int b = 0; b < batch; ++b) {
    double* d_row = d.data() + static_cast<size_t>(b) * classes_;
    d_row[labels[b]] -= 1.0;
    for (int c = 0; c < classes_; ++c) g.biases[c] += d_row[c];
  }
  g.weights = weight_gradients(inputs, input_size_, d, classes_, pool);
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
  weights_f64_.assign(weights_.begin(), weights_.end());
}

}  // namespace poet::trainer
