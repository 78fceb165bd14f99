// Seeded inputs for tests: the same seed gives the same values on every machine (the
// generator and the mapping to floats are spelled out here, not left to <random>'s
// implementation-defined distributions).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace augur::test {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next_u64();
  // Uniform in [lo, hi).
  double uniform(double lo = 0.0, double hi = 1.0);
  // Standard normal (Box-Muller).
  double normal();

 private:
  uint64_t state_;
};

std::vector<float> random_floats(size_t n, uint64_t seed, float lo = -1.f, float hi = 1.f);
std::vector<double> random_doubles(size_t n, uint64_t seed, double lo = -1.0, double hi = 1.0);

}  // namespace augur::test
