// Range checks for numeric flags, with messages a user can act on ("--lr: must be a positive
// number, got 'nan'"): CLI11's own print the bounds in full (DBL_MAX as 310 digits), let NaN
// through to be called negative later, and read "-1" into an unsigned seed as 2^64 - 1. The
// text is checked before CLI11 converts it, so whole numbers must be written as such.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>

namespace augur {

// A whole number in [lo, hi]; the message says "a positive integer" when lo is 1 and
// "a non-negative integer" when lo is 0, and names hi when it is a documented limit.
CLI::Validator integer_in(int64_t lo, int64_t hi);
inline CLI::Validator positive_integer(int64_t hi = INT32_MAX) {
  return integer_in(1, hi);
}
inline CLI::Validator non_negative_integer(int64_t hi = INT32_MAX) {
  return integer_in(0, hi);
}
// An unsigned 64-bit whole number (seeds): digits only, no sign.
CLI::Validator unsigned_integer();
// A finite real number > 0, >= 0, or in [lo, hi]; NaN and infinities are refused by name.
CLI::Validator positive_real();
CLI::Validator non_negative_real();
CLI::Validator real_in(double lo, double hi);

}  // namespace augur
