// Progress of a long phase, such as computing the bottlenecks of every image. On a terminal it
// redraws one line in place: `bottlenecks 120/880  57.3 images/s  ETA 0:13`. Into a file or
// pipe (logs, CI) it prints plain lines instead: every interval_seconds, and whenever another
// tenth of the work is done, so a log neither floods nor goes quiet.
#pragma once

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace poet::summary {

// One progress line, a pure function of its inputs: "<what> <done>/<total>  <rate> <unit>/s
// ETA m:ss" while running, "... done in m:ss" once done reaches total. Rate and ETA read "-"
// and "ETA -:--" until there is something to measure.
std::string format_progress(std::string_view what, uint64_t done, uint64_t total,
                            double elapsed_seconds, std::string_view unit = "images");
// m:ss below an hour, h:mm:ss from one hour on.
std::string format_duration(double seconds);

class Progress {
 public:
  struct Options {
    std::FILE* out = stderr;
    // automatic: redraw one line in place when out is a terminal, plain lines otherwise.
    enum class Style { automatic, redraw, lines } style = Style::automatic;
    double interval_seconds = 10;
    std::string unit = "images";
  };

  Progress(std::string what, uint64_t total) : Progress(std::move(what), total, Options{}) {}
  Progress(std::string what, uint64_t total, Options options);
  // Prints the final line if finish() was not called.
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Safe to call from several threads.
  void update(uint64_t done);
  void finish();

 private:
  double elapsed() const;
  void print(uint64_t done, double elapsed);

  std::string what_;
  uint64_t total_;
  Options options_;
  bool redraw_;
  double start_;
  std::mutex mutex_;
  double last_print_ = -1;
  uint64_t last_tenth_ = 0;
  uint64_t done_ = 0;
  bool finished_ = false;
};

}  // namespace poet::summary
