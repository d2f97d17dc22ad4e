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

// Row `b` of the logits: x_b W + bias, summed in double.
void logits_row(std::span<const float> x, std::span<const float> weights,
                std::span<const float> biases, std::span<double> out) {
  const size_t classes = out.size();
  for (size_t c = 0; c < classes; ++c) out[c] = biases[c];
  for (size_t k = 0; k < x.size(); ++k) {
    const double xk = x[k];
    const float* w = weights.data() + k * classes;
    for (size_t c = 0; c < classes; ++c) out[c] += xk * w[c];
  }
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

}  // namespace

SoftmaxLayer::SoftmaxLayer(int input_size, int classes, uint64_t seed)
    : input_size_(input_size), classes_(classes) {
  check_sizes(input_size, classes);
  Random random(seed);
  weights_.resize(static_cast<size_t>(input_size) * classes);
  for (float& w : weights_) w = static_cast<float>(random.truncated_normal() * kInitStddev);
  biases_.assign(classes, 0.0f);
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
  const int batch = batch_of(inputs);
  std::vector<double> out(static_cast<size_t>(batch) * classes_);
  for (int b = 0; b < batch; ++b)
    logits_row(inputs.subspan(static_cast<size_t>(b) * input_size_, input_size_), weights_, biases_,
               std::span<double>(out.data() + static_cast<size_t>(b) * classes_, classes_));
  return out;
}

std::vector<double> SoftmaxLayer::probabilities(std::span<const float> inputs) const {
  const int batch = batch_of(inputs);
  std::vector<double> probs(static_cast<size_t>(batch) * classes_);
  for (int b = 0; b < batch; ++b) {
    std::span<double> row(probs.data() + static_cast<size_t>(b) * classes_, classes_);
    logits_row(inputs.subspan(static_cast<size_t>(b) * input_size_, input_size_), weights_, biases_,
               row);
    softmax_in_place(row);
  }
  return probs;
}

Evaluation SoftmaxLayer::evaluate(std::span<const float> inputs,
                                  std::span<const int> labels) const {
  const int batch = batch_of(inputs);
  check_labels(labels, batch);
  Evaluation result;
  if (batch == 0) return result;
  std::vector<double> row(classes_);
  int correct = 0;
  for (int b = 0; b < batch; ++b) {
    logits_row(inputs.subspan(static_cast<size_t>(b) * input_size_, input_size_), weights_, biases_,
               row);
    const double label_logit = row[labels[b]];
    result.cross_entropy += softmax_in_place(row) - label_logit;
    // First maximum, as tf.argmax.
    int predicted = static_cast<int>(std::max_element(row.begin(), row.end()) - row.begin());
    result.predictions.push_back(predicted);
    correct += predicted == labels[b];
  }
  result.cross_entropy /= batch;
  result.accuracy = static_cast<double>(correct) / batch;
  return result;
}

Gradients SoftmaxLayer::gradients(std::span<const float> inputs,
                                  std::span<const int> labels) const {
  const int batch = batch_of(inputs);
  check_labels(labels, batch);
  if (batch == 0) fail("softmax layer: cannot train on an empty batch");
  Gradients g;
  g.weights.assign(weights_.size(), 0.0);
  g.biases.assign(classes_, 0.0);
  std::vector<double> row(classes_);
  for (int b = 0; b < batch; ++b) {
    std::span<const float> x = inputs.subspan(static_cast<size_t>(b) * input_size_, input_size_);
    logits_row(x, weights_, biases_, row);
    const double label_logit = row[labels[b]];
    g.loss += softmax_in_place(row) - label_logit;
    g.accuracy += std::max_element(row.begin(), row.end()) - row.begin() == labels[b];
    row[labels[b]] -= 1.0;  // p - y
    for (int c = 0; c < classes_; ++c) g.biases[c] += row[c];
    for (int k = 0; k < input_size_; ++k) {
      const double xk = x[k];
      double* gw = g.weights.data() + static_cast<size_t>(k) * classes_;
      for (int c = 0; c < classes_; ++c) gw[c] += xk * row[c];
    }
  }
  const double scale = 1.0 / batch;
  g.loss *= scale;
  g.accuracy *= scale;
  for (double& v : g.weights) v *= scale;
  for (double& v : g.biases) v *= scale;
  return g;
}

void SoftmaxLayer::apply(const Gradients& g, double learning_rate) {
  if (g.weights.size() != weights_.size() || g.biases.size() != biases_.size())
    fail("softmax layer: gradients do not match the layer's shape");
  for (size_t i = 0; i < weights_.size(); ++i)
    weights_[i] = static_cast<float>(weights_[i] - learning_rate * g.weights[i]);
  for (size_t i = 0; i < biases_.size(); ++i)
    biases_[i] = static_cast<float>(biases_[i] - learning_rate * g.biases[i]);
}

Gradients SoftmaxLayer::train_step(std::span<const float> inputs, std::span<const int> labels,
                                   double learning_rate) {
  Gradients g = gradients(inputs, labels);
  apply(g, learning_rate);
  return g;
}

}  // namespace poet::trainer
