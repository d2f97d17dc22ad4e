// TensorBoard event files: CRC-32C and TFRecord framing, TensorFlow's histogram buckets, the
// real event file retrain.py wrote, poet's own files read back, and errors on corrupt or
// truncated files that name the file and the record's offset.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <csignal>
#include <functional>
#include <map>
#include <random>

#include "engine/error.h"
#include "engine/file_io.h"
#include "tests/child_process.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"
#include "trainer/summary/summary_writer.h"
#include "trainer/summary/tfrecord.h"
#include "trainer/summary_observer.h"

namespace poet::summary {
namespace {

using ::poet::testing::error_of;

// Checks that message contains part, printing the whole message when it does not.
#define EXPECT_CONTAINS(message, part)                                \
  do {                                                                \
    const std::string m_ = (message);                                 \
    EXPECT_NE(m_.find(part), std::string::npos) << "message: " << m_; \
  } while (0)

constexpr const char* kRealEvents = "tensorboard/events.out.tfevents.1558970915.validation";

// The tags of one evaluation step of retrain.py, in the order its merged summary holds them.
const std::vector<std::string> kRetrainTags = {
    "final_training_ops/weights/summaries/mean_1",
    "final_training_ops/weights/summaries/stddev_1",
    "final_training_ops/weights/summaries/max_1",
    "final_training_ops/weights/summaries/min_1",
    "final_training_ops/weights/summaries/histogram",
    "final_training_ops/biases/summaries/mean_1",
    "final_training_ops/biases/summaries/stddev_1",
    "final_training_ops/biases/summaries/max_1",
    "final_training_ops/biases/summaries/min_1",
    "final_training_ops/biases/summaries/histogram",
    "final_training_ops/Wx_plus_b/pre_activations",
    "activations",
    "cross_entropy_1",
    "accuracy_1",
};

std::vector<std::string> tags_of(const tensorflow::Event& event) {
  std::vector<std::string> tags;
  for (const auto& v : event.summary().value()) tags.push_back(v.tag());
  return tags;
}

void write_records(const std::filesystem::path& path, const std::vector<std::string>& records) {
  std::string bytes;
  for (const auto& r : records) bytes += frame_record(r);
  write_file_atomic(path, bytes);
}

std::vector<std::string> read_records(const std::filesystem::path& path) {
  TFRecordReader reader(path);
  std::vector<std::string> out;
  std::string r;
  while (reader.next(r)) out.push_back(r);
  return out;
}

// Both ways of computing it: the one the CPU runs, and the table.
using Crc = uint32_t (*)(std::string_view, uint32_t);
constexpr Crc kCrcs[] = {crc32c, crc32c_table};

TEST(Crc32c, KnownVectors) {
  for (Crc crc : kCrcs) {
    EXPECT_EQ(crc("", 0), 0u);
    EXPECT_EQ(crc("123456789", 0), 0xE3069283u);
    // RFC 3720 (iSCSI) B.4 test patterns.
    EXPECT_EQ(crc(std::string(32, '\0'), 0), 0x8A9136AAu);
    EXPECT_EQ(crc(std::string(32, '\xff'), 0), 0x62A8AB43u);
    std::string ascending;
    for (int i = 0; i < 32; ++i) ascending += static_cast<char>(i);
    EXPECT_EQ(crc(ascending, 0), 0x46DD794Eu);
  }
}

TEST(Crc32c, ContinuesAcrossPieces) {
  for (Crc crc : kCrcs) EXPECT_EQ(crc("6789", crc("12345", 0)), 0xE3069283u);
}

// Every length from 0 to 40 (the instruction takes 8 bytes, then the rest one by one), at
// every offset from an aligned start, continuing from a CRC other than 0.
TEST(Crc32c, TheCpusWayGivesTheTables) {
  std::mt19937 rng(4);
  std::string bytes(64, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  for (size_t offset = 0; offset < 8; ++offset)
    for (size_t n = 0; n <= 40; ++n) {
      const std::string_view piece(bytes.data() + offset, n);
      EXPECT_EQ(crc32c(piece, 0x12345678u), crc32c_table(piece, 0x12345678u)) << offset << " " << n;
    }
}

TEST(Crc32c, MaskRoundTripsAndMatchesTheFormula) {
  for (uint32_t crc : {0u, 1u, 0xE3069283u, 0xFFFFFFFFu, 0x80000000u}) {
    EXPECT_EQ(mask_crc(crc), ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
    EXPECT_EQ(unmask_crc(mask_crc(crc)), crc);
  }
}

TEST(TFRecord, FrameLayout) {
  std::string framed = frame_record("abc");
  ASSERT_EQ(framed.size(), 8u + 4u + 3u + 4u);
  EXPECT_EQ(framed.substr(0, 8), std::string("\x03\0\0\0\0\0\0\0", 8));
  auto u32_at = [&](size_t at) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(framed[at + i])} << (8 * i);
    return v;
  };
  EXPECT_EQ(u32_at(8), mask_crc(crc32c(framed.substr(0, 8))));
  EXPECT_EQ(framed.substr(12, 3), "abc");
  EXPECT_EQ(u32_at(15), mask_crc(crc32c("abc")));
}

TEST(TFRecord, WriterAppendsAndReaderReadsBack) {
  testing::TempDir dir;
  {
    TFRecordWriter w(dir / "r");
    w.write("first");
    w.write("");
    w.write(std::string(100000, 'x'));
  }
  TFRecordWriter(dir / "r").write("appended");
  EXPECT_EQ(read_records(dir / "r"),
            (std::vector<std::string>{"first", "", std::string(100000, 'x'), "appended"}));
}

// A record the system stops writing (here the file-size limit) is an error with its reason,
// and the file ends at its last whole record, which still reads back; an event file the process
// has no descriptor left to open is not blamed (a ResourceError).
TEST(TFRecord, AWriteTheSystemStopsLeavesTheWholeRecords) {
  ::poet::testing::TempDir dir;
  const std::filesystem::path path = dir / "events";
  TFRecordWriter(path).write("first");
  const std::string error = ::poet::testing::error_in_child([&] {
    std::signal(SIGXFSZ, SIG_IGN);  // as cli/main.cc: the write then fails with EFBIG
    TFRecordWriter writer(path);
    ::poet::testing::set_limit(RLIMIT_FSIZE, std::filesystem::file_size(path) + 20);
    writer.write(std::string(100, 'x'));
  });
  EXPECT_EQ(error, path.string() + ": write error (File too large)");
  TFRecordReader reader(path);
  std::string record;
  ASSERT_TRUE(reader.next(record));
  EXPECT_EQ(record, "first");
  EXPECT_FALSE(reader.next(record));
  const std::string open_error = ::poet::testing::error_in_child([&] {
    try {
      const ::poet::testing::HeldDescriptors held;
      TFRecordReader again(path);
    } catch (const ResourceError& e) {
      throw Error(str_cat("ResourceError: ", e.what()));
    }
  });
  EXPECT_EQ(open_error.rfind("ResourceError: " + path.string() + ": cannot open (Too many", 0), 0u)
      << open_error;
}

// What is not a regular file is refused by name before it is opened: a pipe's open waited for
// a writer forever.
TEST(TFRecord, TheReaderRefusesAFolderOrAPipe) {
  ::poet::testing::TempDir dir;
  const std::filesystem::path fifo = dir / "events";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  ::poet::testing::expect_error(
      [&] { TFRecordReader reader(fifo); },
      fifo.string() + ": is not a regular file (a pipe, device or socket)");
  ::poet::testing::expect_error([&] { TFRecordReader reader(dir.path()); },
                                dir.path().string() + ": is a directory, not a file");
}

TEST(TFRecord, CorruptDataByteNamesTheRecordOffset) {
  testing::TempDir dir;
  write_records(dir / "c", {"alpha", "bravo", "charlie"});
  std::string bytes = read_file(dir / "c");
  const size_t second = 12 + 5 + 4;  // offset of "bravo"'s record
  bytes[second + 12 + 2] ^= 0x01;
  write_file_atomic(dir / "c", bytes);
  std::string m = error_of([&] { read_records(dir / "c"); });
  EXPECT_CONTAINS(m, (dir / "c").string());
  EXPECT_CONTAINS(m, "offset 21");
  EXPECT_CONTAINS(m, "data CRC mismatch");
}

TEST(TFRecord, CorruptLengthIsCaughtBeforeAllocating) {
  testing::TempDir dir;
  write_records(dir / "c", {"alpha", "bravo"});
  std::string bytes = read_file(dir / "c");
  bytes[21 + 5] = '\x7f';  // second record's length becomes about 5.5e11 bytes
  write_file_atomic(dir / "c", bytes);
  std::string m = error_of([&] { read_records(dir / "c"); });
  EXPECT_CONTAINS(m, "offset 21");
  EXPECT_CONTAINS(m, "length CRC mismatch");
}

// A length with a valid CRC that the file cannot hold: rejected before any allocation.
TEST(TFRecord, HugeLengthWithValidCrcIsRejected) {
  testing::TempDir dir;
  std::string header = frame_record("x").substr(0, 8);
  header[5] = '\x01';  // 2^40 + 1 bytes
  std::string h8 = header.substr(0, 8);
  uint32_t crc = mask_crc(crc32c(h8));
  for (int i = 0; i < 4; ++i) h8 += static_cast<char>((crc >> (8 * i)) & 0xff);
  write_file_atomic(dir / "huge", h8 + "some data");
  EXPECT_CONTAINS(error_of([&] { read_records(dir / "huge"); }),
                  "record at offset 0 claims 1099511627777 bytes, more than the limit");

  // Under the limit but beyond the end of the file: truncated.
  TFRecordReader small_limit(dir / "huge", uint64_t{1} << 41);
  std::string r;
  EXPECT_CONTAINS(error_of([&] { small_limit.next(r); }), "offset 0 is truncated");
}

TEST(TFRecord, TruncatedFileIsAClearError) {
  testing::TempDir dir;
  write_records(dir / "t", {"alpha", "bravo"});
  std::string bytes = read_file(dir / "t");
  // Cut inside the second record's data, then inside its header.
  write_file_atomic(dir / "t", bytes.substr(0, bytes.size() - 6));
  std::string m = error_of([&] { read_records(dir / "t"); });
  EXPECT_CONTAINS(m, (dir / "t").string());
  EXPECT_CONTAINS(m, "record at offset 21 is truncated");

  write_file_atomic(dir / "t", bytes.substr(0, 21 + 7));
  EXPECT_CONTAINS(error_of([&] { read_records(dir / "t"); }),
                  "record at offset 21 is truncated: 7 bytes left");
}

TEST(TFRecord, MissingFileIsNamed) {
  EXPECT_CONTAINS(error_of([] { TFRecordReader("/nonexistent/events.out.tfevents.1.x"); }),
                  "/nonexistent/events.out.tfevents.1.x: cannot open");
}

TEST(Histogram, DefaultLimitsFollowTensorFlow) {
  std::span<const double> limits = default_histogram_limits();
  // 774 limits 1e-12 * 1.1^k below 1e20, DBL_MAX, both signs, and 0.
  ASSERT_EQ(limits.size(), 2u * 775u + 1u);
  EXPECT_EQ(limits.front(), -DBL_MAX);
  EXPECT_EQ(limits[775], 0.0);
  EXPECT_EQ(limits[776], 1e-12);
  EXPECT_EQ(limits[775 - 1], -1e-12);
  EXPECT_EQ(limits.back(), DBL_MAX);
  EXPECT_LT(limits[limits.size() - 2], 1e20);
  EXPECT_GT(limits[limits.size() - 2] * 1.1, 1e20 * 0.9999999);
  EXPECT_TRUE(std::is_sorted(limits.begin(), limits.end()));
}

TEST(Histogram, EmptyRunsCollapseIntoOneEntry) {
  std::vector<float> values = {0.0f, 0.0f, 1.0f};
  tensorflow::HistogramProto h = make_histogram(values, "h");
  EXPECT_EQ(h.min(), 0.0);
  EXPECT_EQ(h.max(), 1.0);
  EXPECT_EQ(h.num(), 3.0);
  EXPECT_EQ(h.sum(), 1.0);
  EXPECT_EQ(h.sum_squares(), 1.0);
  // Buckets are [previous limit, limit): 0 falls in the bucket ending at 1e-12, 1.0 in the one
  // ending at the first limit above 1.
  std::span<const double> limits = default_histogram_limits();
  const double above_one = *std::upper_bound(limits.begin(), limits.end(), 1.0);
  const double below_one = *(std::upper_bound(limits.begin(), limits.end(), 1.0) - 1);
  EXPECT_EQ(std::vector<double>(h.bucket_limit().begin(), h.bucket_limit().end()),
            (std::vector<double>{0.0, 1e-12, below_one, above_one, DBL_MAX}));
  EXPECT_EQ(std::vector<double>(h.bucket().begin(), h.bucket().end()),
            (std::vector<double>{0, 2, 0, 1, 0}));
}

// Every float on, just above and just below each limit, each start of the cells that
// make_histogram looks its buckets up in (a float's exponent and first four mantissa bits),
// and the ends, lands in the bucket that std::upper_bound names.
TEST(Histogram, EachValueLandsInTheBucketABinarySearchFinds) {
  std::span<const double> limits = default_histogram_limits();
  std::vector<float> values = {0.0f, -0.0f, FLT_MAX, -FLT_MAX, FLT_MIN, -FLT_MIN};
  auto add_around = [&](float f) {
    values.insert(values.end(), {f, std::nextafter(f, FLT_MAX), std::nextafter(f, -FLT_MAX)});
  };
  for (double limit : limits) add_around(static_cast<float>(limit));
  for (uint32_t cell = 0; cell < 4096; ++cell) {
    const float start = std::bit_cast<float>(cell << 19);
    add_around(start);
    add_around(-start);
  }
  for (float v : values) {
    if (!std::isfinite(v)) continue;
    tensorflow::HistogramProto h = make_histogram(std::span(&v, 1), "h");
    double bucket_limit = 0;
    for (int b = 0; b < h.bucket_size(); ++b)
      if (h.bucket(b) == 1) bucket_limit = h.bucket_limit(b);
    EXPECT_EQ(bucket_limit, *std::upper_bound(limits.begin(), limits.end(), double{v})) << v;
  }
}

TEST(Histogram, NanIsAnErrorNamingTheTag) {
  std::vector<float> values = {1.0f, std::nanf("")};
  EXPECT_CONTAINS(error_of([&] { make_histogram(values, "final_training_ops/weights"); }),
                  "'final_training_ops/weights': NaN or infinity");
}

TEST(VariableSummaries, HandCheckedValues) {
  std::vector<float> values = {1, 2, 3, 4};
  tensorflow::Summary s;
  add_variable_summaries(s, "layer/w", values);
  ASSERT_EQ(s.value_size(), 5);
  EXPECT_EQ(s.value(0).tag(), "layer/w/summaries/mean_1");
  EXPECT_FLOAT_EQ(s.value(0).simple_value(), 2.5f);
  EXPECT_EQ(s.value(1).tag(), "layer/w/summaries/stddev_1");
  EXPECT_FLOAT_EQ(s.value(1).simple_value(), std::sqrt(1.25f));
  EXPECT_EQ(s.value(2).tag(), "layer/w/summaries/max_1");
  EXPECT_EQ(s.value(2).simple_value(), 4.0f);
  EXPECT_EQ(s.value(3).tag(), "layer/w/summaries/min_1");
  EXPECT_EQ(s.value(3).simple_value(), 1.0f);
  EXPECT_EQ(s.value(4).tag(), "layer/w/summaries/histogram");
  EXPECT_EQ(s.value(4).histo().num(), 4.0);
  EXPECT_EQ(s.value(4).histo().sum_squares(), 30.0);
}

TEST(EventFile, ReadsTheRealRetrainFile) {
  POET_REQUIRE_FIXTURE(kRealEvents);
  std::vector<tensorflow::Event> events = read_event_file(testing::fixture(kRealEvents));
  ASSERT_EQ(events.size(), 302u);
  EXPECT_EQ(events[0].file_version(), "brain.Event:2");
  EXPECT_EQ(events[0].wall_time(), 1558970915.0);

  // One Event per evaluation step (every 10 steps, and the last step), all values together.
  std::map<std::string, int> tag_counts;
  for (size_t i = 1; i < events.size(); ++i) {
    const int64_t expected_step = i == events.size() - 1 ? 2999 : 10 * (int64_t(i) - 1);
    EXPECT_EQ(events[i].step(), expected_step) << "event " << i;
    EXPECT_EQ(tags_of(events[i]), kRetrainTags) << "event " << i;
    EXPECT_GE(events[i].wall_time(), events[i - 1].wall_time());
    for (const auto& v : events[i].summary().value()) {
      ++tag_counts[v.tag()];
      if (!v.has_histo()) continue;
      double n = 0;
      for (double c : v.histo().bucket()) n += c;
      EXPECT_EQ(n, v.histo().num()) << v.tag();
    }
  }
  EXPECT_EQ(tag_counts["accuracy_1"], 301);
  EXPECT_EQ(tag_counts["cross_entropy_1"], 301);
  EXPECT_EQ(tag_counts["final_training_ops/weights/summaries/mean_1"], 301);
  EXPECT_EQ(tag_counts["final_training_ops/biases/summaries/histogram"], 301);
  EXPECT_EQ(tag_counts.size(), kRetrainTags.size());
  // 22 classes on MobileNet's 1001-float bottleneck, validation batches of 100.
  const auto& first = events[1].summary();
  EXPECT_EQ(first.value(4).histo().num(), 1001.0 * 22);
  EXPECT_EQ(first.value(9).histo().num(), 22.0);
  EXPECT_EQ(first.value(10).histo().num(), 100.0 * 22);
}

// Values placed one per bucket of the real file's histograms must bucket into exactly the same
// limits and counts, which pins poet's default limits and empty-run encoding to TensorFlow's.
TEST(EventFile, HistogramsReproduceTensorFlowBuckets) {
  POET_REQUIRE_FIXTURE(kRealEvents);
  std::vector<tensorflow::Event> events = read_event_file(testing::fixture(kRealEvents));
  std::span<const double> limits = default_histogram_limits();
  int checked = 0;
  for (size_t e : {size_t{1}, size_t{150}, events.size() - 1}) {
    for (const auto& v : events[e].summary().value()) {
      if (!v.has_histo()) continue;
      std::vector<float> values;
      for (int b = 0; b < v.histo().bucket_size(); ++b) {
        if (v.histo().bucket(b) == 0) continue;
        auto it = std::find(limits.begin(), limits.end(), v.histo().bucket_limit(b));
        ASSERT_NE(it, limits.end()) << v.tag() << ": limit not a TensorFlow default limit";
        ASSERT_NE(it, limits.begin());
        // Bucket [previous limit, limit): a float inside it.
        const double lo = *(it - 1), hi = *it;
        const float inside = static_cast<float>(lo / 2 + hi / 2);
        ASSERT_TRUE(inside >= lo && inside < hi) << v.tag() << ": bucket " << lo << ".." << hi;
        values.insert(values.end(), static_cast<size_t>(v.histo().bucket(b)), inside);
      }
      tensorflow::HistogramProto mine = make_histogram(values, v.tag());
      ASSERT_EQ(mine.bucket_limit_size(), v.histo().bucket_limit_size()) << v.tag();
      for (int b = 0; b < mine.bucket_limit_size(); ++b) {
        EXPECT_EQ(mine.bucket_limit(b), v.histo().bucket_limit(b)) << v.tag() << " " << b;
        EXPECT_EQ(mine.bucket(b), v.histo().bucket(b)) << v.tag() << " " << b;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 3 * 4);  // four histograms in each of three events
}

TEST(SummaryWriter, WritesARetrainStyleFileThatReadsBack) {
  testing::TempDir dir;
  std::vector<float> weights = {0.1f, -0.2f, 0.3f, 0.05f, -0.4f, 0.0f};
  std::vector<float> biases = {0.01f, -0.01f};
  std::vector<float> logits = {1.0f, -1.0f, 0.5f, 0.25f};
  std::vector<float> probs = {0.88f, 0.12f, 0.56f, 0.44f};
  std::filesystem::path file;
  {
    SummaryWriter w(dir / "validation");
    file = w.path();
    for (int64_t step : {0, 10, 19}) {
      RetrainStepValues values{weights, biases, logits, probs, 0.5f + step, 0.25f};
      w.write_event(step, retrain_step_summary(values));
    }
    w.add_scalar(20, "learning_rate", 0.01f);
    w.add_histogram(20, "h", weights);
    w.add_variable_summaries(20, "v", biases);
  }
  EXPECT_EQ(file.parent_path(), dir / "validation");
  EXPECT_EQ(file.filename().string().rfind("events.out.tfevents.", 0), 0u) << file;

  std::vector<tensorflow::Event> events = read_event_file(file);
  ASSERT_EQ(events.size(), 7u);
  EXPECT_EQ(events[0].file_version(), "brain.Event:2");
  EXPECT_EQ(events[0].wall_time(), std::floor(events[0].wall_time()));
  EXPECT_CONTAINS(file.filename().string(),
                  str_cat(".", static_cast<int64_t>(events[0].wall_time()), "."));
  EXPECT_EQ(events[1].step(), 0);
  EXPECT_EQ(events[3].step(), 19);
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(tags_of(events[i]), kRetrainTags);
  EXPECT_FLOAT_EQ(events[3].summary().value(12).simple_value(), 19.5f);
  EXPECT_EQ(events[1].summary().value(4).histo().num(), 6.0);
  EXPECT_EQ(tags_of(events[4]), std::vector<std::string>{"learning_rate"});
  EXPECT_EQ(tags_of(events[5]), std::vector<std::string>{"h"});
  EXPECT_EQ(tags_of(events[6]).size(), 5u);
  EXPECT_GE(events[1].wall_time(), events[0].wall_time());
}

TEST(SummaryWriter, TwoWritersInOneDirectoryGetTheirOwnFiles) {
  testing::TempDir dir;
  SummaryWriter a(dir.path());
  SummaryWriter b(dir.path());
  EXPECT_NE(a.path(), b.path());
  EXPECT_EQ(read_event_file(a.path()).size(), 1u);
  EXPECT_EQ(read_event_file(b.path()).size(), 1u);
}

TEST(EventFile, RecordThatIsNotAnEventIsNamed) {
  testing::TempDir dir;
  write_records(dir / "e", {"\xff\xff\xff\xff"});
  EXPECT_CONTAINS(error_of([&] { read_event_file(dir / "e"); }),
                  "record at offset 0 is not an Event protobuf");
}

// What a writer killed mid-append leaves: every cut point inside the last record reads as the
// complete events before it, with the cut record's offset reported; strict reading still fails.
TEST(EventFile, TolerantReadStopsAtATruncatedLastRecord) {
  testing::TempDir dir;
  std::filesystem::path file;
  {
    SummaryWriter w(dir.path());
    file = w.path();
    w.add_scalar(1, "a", 1.0f);
    w.add_scalar(2, "b", 2.0f);
  }
  std::string bytes = read_file(file);
  EventFileContents whole = read_event_file_tolerant(file);
  ASSERT_EQ(whole.events.size(), 3u);
  EXPECT_FALSE(whole.truncated_at);
  const size_t last = bytes.size() - frame_record(whole.events[2].SerializeAsString()).size();
  for (size_t cut : {last + 1, last + 11, last + 12, bytes.size() - 1}) {
    write_file_atomic(file, bytes.substr(0, cut));
    EventFileContents partial = read_event_file_tolerant(file);
    ASSERT_EQ(partial.events.size(), 2u) << cut;
    EXPECT_EQ(partial.events[1].step(), 1) << cut;
    EXPECT_EQ(partial.truncated_at, std::optional<uint64_t>(last)) << cut;
    EXPECT_CONTAINS(error_of([&] { read_event_file(file); }),
                    str_cat("record at offset ", last, " is truncated"));
  }
  write_file_atomic(file, "");  // killed before the file_version record
  EXPECT_TRUE(read_event_file_tolerant(file).events.empty());
}

TEST(EventFile, TolerantReadStillRejectsCorruption) {
  testing::TempDir dir;
  write_records(dir / "c", {"alpha", "bravo"});
  std::string bytes = read_file(dir / "c");
  bytes[12 + 2] ^= 0x01;
  write_file_atomic(dir / "c", bytes);
  EXPECT_CONTAINS(error_of([&] { read_event_file_tolerant(dir / "c"); }),
                  "offset 0: data CRC mismatch");
}

// The writers hold their files open: a summaries folder removed during the run took both files
// with it, and the run ended saying where TensorBoard would find them.
TEST(SummaryObserver, SaysWhichEventFilesAreGone) {
  testing::TempDir dir;
  const trainer::SummaryObserver observer(dir / "logs", "");
  EXPECT_TRUE(observer.lost_files().empty());
  std::filesystem::remove(observer.validation_file());
  EXPECT_EQ(observer.lost_files(), std::vector<std::filesystem::path>{observer.validation_file()});
  std::filesystem::remove_all(dir / "logs");
  EXPECT_EQ(observer.lost_files().size(), 2u);
}

}  // namespace
}  // namespace poet::summary
