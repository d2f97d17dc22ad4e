#include "trainer/random.h"

#include <cmath>
#include <numbers>

namespace poet::trainer {

uint64_t Random::below(uint64_t n) {
  // Values at or above `limit` would make the low remainders more likely: draw again.
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x = bits();
  while (x >= limit) x = bits();
  return x % n;
}

double Random::uniform() { return static_cast<double>(bits() >> 11) * 0x1.0p-53; }

double Random::normal() {
  double u1 = 1.0 - uniform();  // (0, 1]: the logarithm stays finite
  double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

double Random::truncated_normal() {
  double z = normal();
  while (std::abs(z) > 2.0) z = normal();
  return z;
}

}  // namespace poet::trainer
