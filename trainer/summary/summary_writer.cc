#include "trainer/summary/summary_writer.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <ctime>

#include "engine/error.h"

namespace poet::summary {
namespace {

std::vector<double> make_default_limits() {
  std::vector<double> positive;
  // Repeated multiplication, not pow: TensorFlow builds the limits this way, and the exact
  // doubles matter because TensorBoard shows them as bucket edges.
  for (double v = 1.0e-12; v < 1.0e20; v *= 1.1) positive.push_back(v);
  positive.push_back(DBL_MAX);
  std::vector<double> limits;
  limits.reserve(2 * positive.size() + 1);
  for (auto it = positive.rbegin(); it != positive.rend(); ++it) limits.push_back(-*it);
  limits.push_back(0.0);
  limits.insert(limits.end(), positive.begin(), positive.end());
  return limits;
}

// The bucket of a value among the default limits: bucket i holds the values in
// [limits[i - 1], limits[i]), so its index is that of the first limit above the value
// (std::upper_bound's), found without a search. A float's exponent and first four mantissa
// bits cut the floats of either sign into 4096 cells; each spans a ratio of at most 17/16, less
// than the limits' 1.1, so it holds at most one limit. A table gives the number of positive
// limits below each cell's start, and one comparison with the next limit finishes the count.
// (A binary search took 11 steps a value, each waiting on the last: most of a retrain step's
// summaries.)
class BucketIndex {
 public:
  explicit BucketIndex(std::span<const double> limits)
      : negative_(limits.size() / 2), positive_(limits.subspan(negative_ + 1)) {
    for (uint32_t cell = 0; cell < kCells; ++cell) {
      const double start = std::bit_cast<float>(cell << kCellShift);
      const auto below = std::lower_bound(positive_.begin(), positive_.end(), start);
      // Cells of infinities and NaNs (never looked up) point at the last limit.
      below_[cell] = static_cast<uint16_t>(
          std::min<ptrdiff_t>(below - positive_.begin(), std::ssize(positive_) - 1));
    }
  }

  size_t bucket(float f) const {
    const uint32_t magnitude_bits = std::bit_cast<uint32_t>(f) & 0x7fffffffu;
    const double magnitude = std::bit_cast<float>(magnitude_bits);
    const size_t below = below_[magnitude_bits >> kCellShift];
    const double next = positive_[below];
    // f >= 0: the negative limits, 0 and the positive ones up to f. f < 0: the negative limits
    // at or below f, those of the positive ones at or above |f|. (-0 counts as 0, as it compares.)
    return f >= 0 ? negative_ + 1 + below + (next <= magnitude)
                  : negative_ - below - (next < magnitude);
  }

 private:
  static constexpr uint32_t kCellShift = 19;  // 8 exponent bits and 4 of the mantissa's 23
  static constexpr uint32_t kCells = 1u << (31 - kCellShift);
  size_t negative_;                     // the limits below 0, as many as above
  std::span<const double> positive_;    // the limits above 0, DBL_MAX last
  std::array<uint16_t, kCells> below_;  // the positive limits below each cell's start
};

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

// A fresh file name; a second writer started in the same second gets a numbered suffix instead
// of appending to the first one's file.
std::filesystem::path new_event_file(const std::filesystem::path& dir, std::time_t start) {
  std::string base = str_cat("events.out.tfevents.", start, ".", host_name());
  std::filesystem::path path = dir / base;
  for (int n = 1; std::filesystem::exists(path); ++n) {
    if (n > 1000) fail(dir.string(), ": cannot find an unused event file name for ", base);
    path = dir / str_cat(base, ".", n);
  }
  return path;
}

std::filesystem::path prepare_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail(dir.string(), ": cannot create the summaries directory (", ec.message(), ")");
  return dir;
}

}  // namespace

std::span<const double> default_histogram_limits() {
  static const std::vector<double> limits = make_default_limits();
  return limits;
}

namespace {

const BucketIndex& default_bucket_index() {
  static const BucketIndex index(default_histogram_limits());
  return index;
}

}  // namespace

tensorflow::HistogramProto make_histogram(std::span<const float> values, std::string_view tag) {
  std::span<const double> limits = default_histogram_limits();
  const BucketIndex& index = default_bucket_index();
  std::vector<double> counts(limits.size(), 0.0);
  tensorflow::HistogramProto h;
  double min = DBL_MAX, max = -DBL_MAX, sum = 0, sum_squares = 0;
  for (float f : values) {
    if (!std::isfinite(f)) fail("histogram summary '", tag, "': NaN or infinity in the values");
    double v = f;
    counts[index.bucket(f)] += 1;
    min = std::min(min, v);
    max = std::max(max, v);
    sum += v;
    sum_squares += v * v;
  }
  h.set_min(min);
  h.set_max(max);
  h.set_num(static_cast<double>(values.size()));
  h.set_sum(sum);
  h.set_sum_squares(sum_squares);
  for (size_t i = 0; i < counts.size();) {
    double limit = limits[i];
    double count = counts[i++];
    if (count == 0) {
      while (i < counts.size() && counts[i] == 0) limit = limits[i++];
    }
    h.add_bucket_limit(limit);
    h.add_bucket(count);
  }
  return h;
}

void add_scalar(tensorflow::Summary& summary, std::string_view tag, float value) {
  auto* v = summary.add_value();
  v->set_tag(std::string(tag));
  v->set_simple_value(value);
}

namespace {

void add_histogram_value(tensorflow::Summary& summary, std::string tag,
                         tensorflow::HistogramProto histogram) {
  auto* v = summary.add_value();
  v->set_tag(std::move(tag));
  *v->mutable_histo() = std::move(histogram);
}

}  // namespace

void add_histogram(tensorflow::Summary& summary, std::string_view tag,
                   std::span<const float> values) {
  add_histogram_value(summary, std::string(tag), make_histogram(values, tag));
}

void add_variable_summaries(tensorflow::Summary& summary, std::string_view prefix,
                            std::span<const float> values) {
  if (values.empty()) fail("variable summaries '", prefix, "': no values");
  const std::string scope = str_cat(prefix, "/summaries/");
  // The histogram's sum (in double, in the values' order), minimum and maximum are the
  // scalars' own: one pass over the values fewer.
  tensorflow::HistogramProto histogram = make_histogram(values, scope + "histogram");
  const double mean = histogram.sum() / static_cast<double>(values.size());
  double squares = 0;
  for (float v : values) squares += (v - mean) * (v - mean);
  const double stddev = std::sqrt(squares / static_cast<double>(values.size()));

  add_scalar(summary, scope + "mean_1", static_cast<float>(mean));
  add_scalar(summary, scope + "stddev_1", static_cast<float>(stddev));
  add_scalar(summary, scope + "max_1", static_cast<float>(histogram.max()));
  add_scalar(summary, scope + "min_1", static_cast<float>(histogram.min()));
  add_histogram_value(summary, scope + "histogram", std::move(histogram));
}

tensorflow::Summary retrain_step_summary(const RetrainStepValues& values) {
  tensorflow::Summary summary;
  add_variable_summaries(summary, "final_training_ops/weights", values.weights);
  add_variable_summaries(summary, "final_training_ops/biases", values.biases);
  add_histogram(summary, "final_training_ops/Wx_plus_b/pre_activations", values.pre_activations);
  add_histogram(summary, "activations", values.activations);
  add_scalar(summary, "cross_entropy_1", values.cross_entropy);
  add_scalar(summary, "accuracy_1", values.accuracy);
  return summary;
}

SummaryWriter::SummaryWriter(const std::filesystem::path& dir)
    : SummaryWriter(dir, std::time(nullptr)) {}

SummaryWriter::SummaryWriter(const std::filesystem::path& dir, std::time_t start)
    : file_(new_event_file(prepare_dir(dir), start)) {
  // Like TensorFlow, the first event's wall time is the whole second in the file name.
  tensorflow::Event event;
  event.set_wall_time(static_cast<double>(start));
  event.set_file_version(std::string(kFileVersion));
  write(event);
}

void SummaryWriter::write(const tensorflow::Event& event) {
  std::string bytes;
  if (!event.SerializeToString(&bytes)) fail(path().string(), ": cannot serialize an Event");
  file_.write(bytes);
}

void SummaryWriter::write_event(int64_t step, tensorflow::Summary summary) {
  tensorflow::Event event;
  event.set_wall_time(now_seconds());
  event.set_step(step);
  event.mutable_summary()->Swap(&summary);
  write(event);
}

void SummaryWriter::write_graph(std::string graph_def) {
  tensorflow::Event event;
  event.set_wall_time(now_seconds());
  event.set_graph_def(std::move(graph_def));
  write(event);
}

void SummaryWriter::add_scalar(int64_t step, std::string_view tag, float value) {
  tensorflow::Summary one;
  summary::add_scalar(one, tag, value);
  write_event(step, std::move(one));
}

void SummaryWriter::add_histogram(int64_t step, std::string_view tag,
                                  std::span<const float> values) {
  tensorflow::Summary one;
  summary::add_histogram(one, tag, values);
  write_event(step, std::move(one));
}

void SummaryWriter::add_variable_summaries(int64_t step, std::string_view prefix,
                                           std::span<const float> values) {
  tensorflow::Summary one;
  summary::add_variable_summaries(one, prefix, values);
  write_event(step, std::move(one));
}

namespace {

std::vector<tensorflow::Event> read_events(TFRecordReader& reader, std::string_view what) {
  std::vector<tensorflow::Event> events;
  std::string record;
  for (uint64_t offset = reader.offset(); reader.next(record); offset = reader.offset()) {
    tensorflow::Event& event = events.emplace_back();
    if (!event.ParseFromString(record))
      fail(what, ": record at offset ", offset, " is not an Event protobuf");
  }
  return events;
}

}  // namespace

std::vector<tensorflow::Event> read_event_file(const std::filesystem::path& path) {
  TFRecordReader reader(path);
  return read_events(reader, path.string());
}

std::vector<tensorflow::Event> parse_event_file(std::string bytes, std::string_view what) {
  TFRecordReader reader(std::move(bytes), std::string(what));
  return read_events(reader, what);
}

EventFileContents read_event_file_tolerant(const std::filesystem::path& path) {
  TFRecordReader reader(path);
  reader.stop_at_truncated_tail();
  EventFileContents contents;
  contents.events = read_events(reader, path.string());
  contents.truncated_at = reader.truncated_at();
  return contents;
}

}  // namespace poet::summary
