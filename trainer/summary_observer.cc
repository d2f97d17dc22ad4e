#include "trainer/summary_observer.h"

#include <cmath>

namespace poet::trainer {
namespace {

// One step's summary: the layer as it is now, and the logits and softmax of `inputs`.
tensorflow::Summary step_summary(std::span<const float> inputs, const SoftmaxLayer& layer,
                                 double cross_entropy, double accuracy) {
  std::vector<double> values = layer.logits(inputs);
  std::vector<float> pre(values.begin(), values.end());
  layer.to_probabilities(values);
  std::vector<float> act(values.begin(), values.end());
  return summary::retrain_step_summary({.weights = layer.weights(),
                                        .biases = layer.biases(),
                                        .pre_activations = pre,
                                        .activations = act,
                                        .cross_entropy = static_cast<float>(cross_entropy),
                                        .accuracy = static_cast<float>(accuracy)});
}

}  // namespace

size_t clear_old_event_files(const std::filesystem::path& summaries_dir) {
  size_t removed = 0;
  for (const char* sub : {"train", "validation"}) {
    std::error_code ec;
    std::filesystem::path dir = summaries_dir / sub;
    if (!std::filesystem::is_directory(dir, ec)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      std::string name = entry.path().filename().string();
      if (name.starts_with("events.out.tfevents.") && entry.is_regular_file(ec) &&
          std::filesystem::remove(entry.path(), ec))
        ++removed;
    }
  }
  return removed;
}

SummaryObserver::SummaryObserver(const std::filesystem::path& summaries_dir)
    : train_(summaries_dir / "train"), validation_(summaries_dir / "validation") {}

void SummaryObserver::on_train_step(int step, std::span<const float> inputs, const Gradients& batch,
                                    const SoftmaxLayer& layer) {
  train_.write_event(step, step_summary(inputs, layer, batch.loss, batch.accuracy));
}

void SummaryObserver::on_validation(int step, std::span<const float> inputs,
                                    const Evaluation& validation, const SoftmaxLayer& layer) {
  validation_.write_event(
      step, step_summary(inputs, layer, validation.cross_entropy, validation.accuracy));
}

}  // namespace poet::trainer
