#include "trainer/summary_observer.h"

#include <cmath>

namespace poet::trainer {
namespace {

// One step's summary: the layer's weights and biases, a batch's logits and softmax.
tensorflow::Summary step_summary(const SoftmaxLayer& layer, std::span<const double> logits,
                                 std::span<const double> probabilities, double cross_entropy,
                                 double accuracy) {
  std::vector<float> pre(logits.begin(), logits.end());
  std::vector<float> act(probabilities.begin(), probabilities.end());
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

SummaryObserver::SummaryObserver(const std::filesystem::path& summaries_dir,
                                 std::string train_graph_def)
    : train_(summaries_dir / "train"), validation_(summaries_dir / "validation") {
  train_.write_graph(std::move(train_graph_def));
}

std::vector<std::filesystem::path> SummaryObserver::lost_files() const {
  std::vector<std::filesystem::path> lost;
  for (const std::filesystem::path& file : {train_file(), validation_file()}) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) lost.push_back(file);
  }
  return lost;
}

void SummaryObserver::on_train_step(int step, std::span<const float> inputs, const Gradients& batch,
                                    const SoftmaxLayer& layer) {
  train_.write_event(
      step, step_summary(layer, batch.logits, batch.probabilities, batch.loss, batch.accuracy));
}

void SummaryObserver::on_validation(int step, std::span<const float> inputs,
                                    const Evaluation& validation, const SoftmaxLayer& layer) {
  validation_.write_event(step, step_summary(layer, validation.logits, validation.probabilities,
                                             validation.cross_entropy, validation.accuracy));
}

}  // namespace poet::trainer
