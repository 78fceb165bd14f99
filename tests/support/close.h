// Comparing numeric results with tolerances derived from the arithmetic, not tuned.
//
// A result that is a sum of K terms, computed in a type with unit roundoff u, differs from
// the exact sum by at most lambda * sqrt(K) * u * sum|terms| with probability at least
// 1 - 2 exp(-lambda^2 / 2) (Higham & Mary's probabilistic rounding-error bound, which holds
// for any summation order, so it covers a GPU tree reduction and a CPU loop alike). Two
// independent implementations each carry such an error, and each rounds its stored output
// once more (u relative). With lambda = 6 a correct pair fails with probability ~1e-8 per
// element.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/dtype.h"

namespace augur::test {

struct Tolerance {
  double abs = 0;  // absolute slack
  double rel = 0;  // relative to |expected|
};

// `reduction_length`: terms summed per output (1 for elementwise ops).
// `sum_abs_terms`: a bound on sum|terms| per output (for K unit-sized terms, K).
Tolerance derived_tolerance(DType dtype, int64_t reduction_length, double sum_abs_terms);
// The common case of terms of size about `term_magnitude`.
inline Tolerance tolerance_for(DType dtype, int64_t reduction_length, double term_magnitude = 1) {
  return derived_tolerance(dtype, reduction_length,
                           static_cast<double>(reduction_length) * term_magnitude);
}

struct CloseReport {
  bool ok = true;
  size_t mismatches = 0;
  double max_abs_error = 0;
  std::string text;  // the first mismatches with their index, for the test log
};

template <class A, class B>
CloseReport compare_close(const A* actual, const B* expected, size_t n, Tolerance tol,
                          size_t max_listed = 8) {
  CloseReport r;
  std::ostringstream os;
  for (size_t i = 0; i < n; ++i) {
    const double a = static_cast<double>(actual[i]);
    const double e = static_cast<double>(expected[i]);
    const double err = a > e ? a - e : e - a;
    const double allowed = tol.abs + tol.rel * (e < 0 ? -e : e);
    if (err > r.max_abs_error || err != err) r.max_abs_error = err;
    if (!(err <= allowed)) {  // NaN counts as a mismatch
      if (r.mismatches < max_listed)
        os << "  [" << i << "] actual " << a << " expected " << e << " |diff| " << err
           << " allowed " << allowed << "\n";
      ++r.mismatches;
    }
  }
  r.ok = r.mismatches == 0;
  std::ostringstream head;
  head << r.mismatches << " of " << n << " elements outside tolerance (abs " << tol.abs << ", rel "
       << tol.rel << "); max |diff| " << r.max_abs_error << "\n";
  r.text = head.str() + os.str();
  return r;
}

template <class A, class B>
CloseReport compare_close(const std::vector<A>& actual, const std::vector<B>& expected,
                          Tolerance tol, size_t max_listed = 8) {
  if (actual.size() != expected.size()) {
    CloseReport r;
    r.ok = false;
    r.text = "size mismatch: actual " + std::to_string(actual.size()) + ", expected " +
             std::to_string(expected.size());
    return r;
  }
  return compare_close(actual.data(), expected.data(), actual.size(), tol, max_listed);
}

}  // namespace augur::test

// CHECKs that `actual` is within `tol` of `expected`, logging the first mismatches.
#define AUGUR_CHECK_CLOSE(actual, expected, tol)                                          \
  do {                                                                                    \
    const auto augur_report_ = ::augur::test::compare_close((actual), (expected), (tol)); \
    INFO(#actual " vs " #expected ": " << augur_report_.text);                            \
    CHECK(augur_report_.ok);                                                              \
  } while (0)
