// TensorBoard summaries of a retraining run, as retrain.py writes them: an event file in
// <summaries_dir>/train with the merged summary of every training step, and one in
// <summaries_dir>/validation with that of every evaluation step (tags from
// summary::retrain_step_summary: the final layer's weight and bias summaries, the
// pre-activation and activation histograms of the batch, cross_entropy_1, accuracy_1).
//
// retrain.py deletes the whole summaries_dir at start. poet deletes only the
// events.out.tfevents.* files directly inside its train/ and validation/ sub-folders (what a
// previous run wrote there), so a mistyped --summaries_dir can never remove anything else,
// and TensorBoard still shows only the new run.
#pragma once

#include <filesystem>
#include <vector>

#include "trainer/retrain.h"
#include "trainer/summary/summary_writer.h"

namespace poet::trainer {

// Removes earlier event files from dir/train and dir/validation; returns how many.
size_t clear_old_event_files(const std::filesystem::path& summaries_dir);

class SummaryObserver : public TrainingObserver {
 public:
  // `train_graph_def`, a serialized GraphDef (retrained_graph_summary), goes into the train
  // file after file_version, as retrain.py's FileWriter(summaries_dir + '/train', sess.graph)
  // writes its graph; the validation file has none, as retrain.py's.
  SummaryObserver(const std::filesystem::path& summaries_dir, std::string train_graph_def);

  void on_train_step(int step, std::span<const float> inputs, const Gradients& batch,
                     const SoftmaxLayer& layer) override;
  void on_validation(int step, std::span<const float> inputs, const Evaluation& validation,
                     const SoftmaxLayer& layer) override;

  const std::filesystem::path& train_file() const { return train_.path(); }
  const std::filesystem::path& validation_file() const { return validation_.path(); }
  // The event files no longer where they were written: the writers hold them open, so a
  // folder removed during the run took the summaries with it, and no write failed to say so.
  std::vector<std::filesystem::path> lost_files() const;

 private:
  summary::SummaryWriter train_, validation_;
};

}  // namespace poet::trainer
