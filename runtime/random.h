// A small, fully specified random generator (splitmix64) so that a seed fixes a model's
// initial weights, the data order and augmentation on every machine and compiler
// (<random>'s distributions are implementation-defined).
#pragma once

#include <cstdint>
#include <string>

namespace augur {

class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  // An independent stream for `name` under `seed` (e.g. one per parameter, so a parameter's
  // initial value does not depend on which other parameters were drawn before it).
  static Random for_name(uint64_t seed, const std::string& name);

  uint64_t next_u64();
  // Uniform in [0, 1) with 53 random bits.
  double uniform();
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Standard normal (Box-Muller; each call consumes two uniforms).
  double normal();
  // Uniform integer in [0, n).
  uint64_t below(uint64_t n);

  uint64_t state() const { return state_; }
  void set_state(uint64_t s) { state_ = s; }

 private:
  uint64_t state_;
};

}  // namespace augur
