#include "trainer/summary/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "engine/error.h"

namespace poet::summary {
namespace {

// A terminal line redrawn more often than this only flickers.
constexpr double kRedrawSeconds = 0.1;

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string format_duration(double seconds) {
  const auto s = static_cast<uint64_t>(std::llround(std::max(0.0, seconds)));
  char buf[64];
  if (s < 3600)
    std::snprintf(buf, sizeof(buf), "%llu:%02llu", static_cast<unsigned long long>(s / 60),
                  static_cast<unsigned long long>(s % 60));
  else
    std::snprintf(buf, sizeof(buf), "%llu:%02llu:%02llu", static_cast<unsigned long long>(s / 3600),
                  static_cast<unsigned long long>(s / 60 % 60),
                  static_cast<unsigned long long>(s % 60));
  return buf;
}

std::string format_progress(std::string_view what, uint64_t done, uint64_t total,
                            double elapsed_seconds, std::string_view unit) {
  std::string line = str_cat(what, " ", done, "/", total, "  ");
  const bool measurable = done > 0 && elapsed_seconds > 0;
  const double rate = measurable ? static_cast<double>(done) / elapsed_seconds : 0;
  if (measurable) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.1f", rate);
    line += str_cat(buf, " ", unit, "/s  ");
  } else {
    line += str_cat("- ", unit, "/s  ");
  }
  if (done >= total) return line + "done in " + format_duration(elapsed_seconds);
  if (!measurable) return line + "ETA -:--";
  return line + "ETA " + format_duration(static_cast<double>(total - done) / rate);
}

Progress::Progress(std::string what, uint64_t total, Options options)
    : what_(std::move(what)),
      total_(total),
      options_(std::move(options)),
      redraw_(options_.style == Options::Style::automatic
                  ? ::isatty(::fileno(options_.out)) == 1
                  : options_.style == Options::Style::redraw),
      start_(now_seconds()) {}

Progress::~Progress() {
  try {
    finish();
  } catch (...) {
    // Never throw from a destructor; progress output is best effort.
  }
}

double Progress::elapsed() const { return now_seconds() - start_; }

void Progress::print(uint64_t done, double elapsed) {
  const std::string line = format_progress(what_, done, total_, elapsed, options_.unit);
  if (redraw_)
    std::fprintf(options_.out, "\r%s\x1b[K", line.c_str());  // rewrite, clear the rest
  else
    std::fprintf(options_.out, "%s\n", line.c_str());
  std::fflush(options_.out);
  last_print_ = elapsed;
}

void Progress::update(uint64_t done) {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  done_ = std::min(done, total_);
  const double t = elapsed();
  const uint64_t tenth = total_ > 0 ? done_ * 10 / total_ : 10;
  const double interval = redraw_ ? kRedrawSeconds : options_.interval_seconds;
  if (done_ == total_) return;  // the final line is finish()'s
  if (last_print_ < 0 || t - last_print_ >= interval || (!redraw_ && tenth > last_tenth_))
    print(done_, t);
  last_tenth_ = tenth;
}

void Progress::finish() {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  finished_ = true;
  print(done_, elapsed());
  if (redraw_) std::fprintf(options_.out, "\n");
  std::fflush(options_.out);
}

}  // namespace poet::summary
