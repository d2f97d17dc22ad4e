// A seeded random source that gives the same numbers on every platform and standard library:
// std::mt19937_64 is specified bit for bit, but std::uniform_int_distribution and
// std::normal_distribution are not, so poet derives its own from the raw 64-bit words.
#pragma once

#include <cstdint>
#include <random>

namespace poet::trainer {

class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  uint64_t bits() { return engine_(); }
  // Uniform in [0, n), n > 0, without modulo bias (rejection of the short last bucket).
  uint64_t below(uint64_t n);
  // Uniform in [0, 1), 53 random bits.
  double uniform();
  // Standard normal by the Box-Muller transform.
  double normal();
  // Standard normal restricted to [-2, 2] by resampling, as TensorFlow's truncated_normal.
  double truncated_normal();

 private:
  std::mt19937_64 engine_;
};

}  // namespace poet::trainer
