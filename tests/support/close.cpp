#include "tests/support/close.h"

#include <cmath>

namespace augur::test {

Tolerance derived_tolerance(DType dtype, int64_t reduction_length, double sum_abs_terms) {
  constexpr double kLambda = 6.0;
  const double u = dtype_unit_roundoff(dtype);
  const double k = static_cast<double>(reduction_length < 1 ? 1 : reduction_length);
  Tolerance t;
  // Both sides' accumulation errors, then both sides' final rounding.
  t.abs = 2.0 * kLambda * std::sqrt(k) * u * sum_abs_terms;
  t.rel = 2.0 * u;
  return t;
}

}  // namespace augur::test
