// The layer retrain.py trains on top of the bottleneck: logits = x W + b, softmax, mean
// softmax cross-entropy loss, plain gradient descent. Weights start from a truncated normal
// (stddev 0.001, values beyond two stddevs redrawn), biases at zero. Inputs are row-major
// [batch, input_size] float32; labels are class indices. Sums run in double, so the loss and
// gradients are accurate to well below float32 rounding.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/tensor.h"

namespace poet {
class ThreadPool;
}

namespace poet::trainer {

struct Evaluation {
  double cross_entropy = 0;  // mean over the batch
  double accuracy = 0;       // fraction whose most probable class is the label
  std::vector<int> predictions;
  // The forward pass, [batch, classes]: x W + b, and its softmax.
  std::vector<double> logits;
  std::vector<double> probabilities;
};

struct Gradients {
  double loss = 0;              // mean cross-entropy at the current weights
  double accuracy = 0;          // of the same forward pass
  std::vector<double> weights;  // [input_size, classes]
  std::vector<double> biases;   // [classes]
  // The forward pass they come from, [batch, classes]: x W + b, and its softmax.
  std::vector<double> logits;
  std::vector<double> probabilities;
};

class SoftmaxLayer {
 public:
  static constexpr double kInitStddev = 0.001;

  SoftmaxLayer(int input_size, int classes, uint64_t seed);
  // Given weights [input_size, classes] and biases [classes].
  SoftmaxLayer(int input_size, int classes, std::vector<float> weights, std::vector<float> biases);

  int input_size() const { return input_size_; }
  int classes() const { return classes_; }
  std::span<const float> weights() const { return weights_; }
  std::span<const float> biases() const { return biases_; }
  // As the graph's Const tensors: [input_size, classes] and [classes].
  Tensor weights_tensor() const;
  Tensor biases_tensor() const;

  // The sums below spread over `pool`'s threads (null: the calling thread alone); each is
  // summed by one thread in the same order whatever the count, so the results do not change.
  // x W + b, [batch, classes].
  std::vector<double> logits(std::span<const float> inputs, ThreadPool* pool = nullptr) const;
  // Softmax probabilities, [batch, classes].
  std::vector<double> probabilities(std::span<const float> inputs,
                                    ThreadPool* pool = nullptr) const;
  Evaluation evaluate(std::span<const float> inputs, std::span<const int> labels,
                      ThreadPool* pool = nullptr) const;
  // Mean cross-entropy and its gradients: dW = x^T (p - y) / batch, db = mean(p - y).
  Gradients gradients(std::span<const float> inputs, std::span<const int> labels,
                      ThreadPool* pool = nullptr) const;
  // W -= learning_rate * dW, b -= learning_rate * db.
  void apply(const Gradients& gradients, double learning_rate);

 private:
  int batch_of(std::span<const float> inputs) const;
  void check_labels(std::span<const int> labels, int batch) const;

  int input_size_;
  int classes_;
  std::vector<float> weights_;
  std::vector<float> biases_;
  // weights_ as the sums read them, in double. Kept with the weights, not made in each call: a
  // fresh 2 MB buffer a call spent half of Inception-sized gradients in page faults and zeroing.
  std::vector<double> weights_f64_;
};

}  // namespace poet::trainer
