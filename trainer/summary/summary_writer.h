// TensorBoard event files, as TensorFlow's FileWriter writes them and retrain.py's users know:
// `<dir>/events.out.tfevents.<unix time>.<hostname>`, TFRecord-framed Event protos, the first
// one carrying file_version "brain.Event:2", then one Event per step holding a Summary.
//
// Crash safety: the file is append-only and every event is flushed as soon as it is written.
// A crash or kill can at worst leave a partial last record; TensorBoard treats a partial record
// at the end as not yet written and shows every event before it. poet's own reader
// (read_event_file) reports such a tail as a truncated record at its offset.
#pragma once

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "trainer/summary/proto/event.pb.h"
#include "trainer/summary/tfrecord.h"

namespace poet::summary {

inline constexpr std::string_view kFileVersion = "brain.Event:2";

// TensorFlow's default histogram bucket limits (lib/histogram/histogram.cc): 0, the limits
// 1e-12 * 1.1^k below 1e20 and their negatives, and +-DBL_MAX at both ends.
std::span<const double> default_histogram_limits();

// A histogram over TensorFlow's default buckets, encoded as TensorFlow's HistogramSummary op
// does: each run of empty buckets collapses into one zero-count entry carrying the run's last
// limit. A NaN or infinity fails naming tag, as in TensorFlow.
tensorflow::HistogramProto make_histogram(std::span<const float> values, std::string_view tag);

void add_scalar(tensorflow::Summary& summary, std::string_view tag, float value);
void add_histogram(tensorflow::Summary& summary, std::string_view tag,
                   std::span<const float> values);
// retrain.py's variable_summaries(var) under the name scope `prefix`: scalars
// `<prefix>/summaries/mean_1`, `stddev_1`, `max_1`, `min_1` (population standard deviation),
// then the histogram `<prefix>/summaries/histogram`. The `_1` suffixes are TensorFlow's
// de-duplicated summary op names, which became the tags; they are kept so that runs from
// poet and TensorFlow line up in one TensorBoard.
void add_variable_summaries(tensorflow::Summary& summary, std::string_view prefix,
                            std::span<const float> values);

// What retrain.py's merged summary holds at one evaluation step, in its order.
struct RetrainStepValues {
  std::span<const float> weights;          // final layer weights [bottleneck, classes]
  std::span<const float> biases;           // [classes]
  std::span<const float> pre_activations;  // logits of the batch [batch, classes]
  std::span<const float> activations;      // softmax of the batch [batch, classes]
  float cross_entropy = 0;
  float accuracy = 0;
};
// Tags: final_training_ops/{weights,biases}/summaries/..., final_training_ops/Wx_plus_b/
// pre_activations, activations, cross_entropy_1, accuracy_1.
tensorflow::Summary retrain_step_summary(const RetrainStepValues& values);

class SummaryWriter {
 public:
  // Creates dir when needed and a new event file in it, and writes the file_version record.
  explicit SummaryWriter(const std::filesystem::path& dir);

  // Each call writes one Event and flushes it. The summary is moved into the event, not copied
  // (a retrain writes one or two a step, each with four histograms).
  void write_event(int64_t step, tensorflow::Summary summary);
  // An Event holding a serialized GraphDef, as tf.summary.FileWriter(dir, graph) writes right
  // after file_version: what TensorBoard's Graphs tab shows.
  void write_graph(std::string graph_def);
  void add_scalar(int64_t step, std::string_view tag, float value);
  void add_histogram(int64_t step, std::string_view tag, std::span<const float> values);
  void add_variable_summaries(int64_t step, std::string_view prefix, std::span<const float> values);

  const std::filesystem::path& path() const { return file_.path(); }

 private:
  SummaryWriter(const std::filesystem::path& dir, std::time_t start);
  void write(const tensorflow::Event& event);

  TFRecordWriter file_;
};

// Every Event of an event file, each record's CRCs verified; errors name the file and offset.
std::vector<tensorflow::Event> read_event_file(const std::filesystem::path& path);
// The same from the bytes of an event file; `what` names them in errors.
std::vector<tensorflow::Event> parse_event_file(std::string bytes, std::string_view what);

// An event file as TensorBoard reads one that may still be written, or whose writer was
// killed: every complete Event, and the offset of a truncated last record when there is one
// (TFRecordReader::stop_at_truncated_tail). Corruption elsewhere still throws.
struct EventFileContents {
  std::vector<tensorflow::Event> events;
  std::optional<uint64_t> truncated_at;
};
EventFileContents read_event_file_tolerant(const std::filesystem::path& path);

}  // namespace poet::summary
