// Central-difference gradient checking in double precision, for every layer's backward.
//
// For each checked coordinate x_i it evaluates f at x_i +- h and x_i +- 2h with
// h = cbrt(eps) * max(1, |x_i|), the step that balances truncation (h^2 f''' / 6) against
// roundoff (eps |f| / h). The tolerance for the analytic derivative is derived per
// coordinate: the Richardson estimate of the truncation error |D(2h) - D(h)| / 3, plus the
// roundoff of the difference quotient, times a safety factor, plus a relative floor for
// rounding inside the analytic backward itself.
//
// Kinks (ReLU at 0, max-pool ties) are detected, not papered over: the fourth difference
// of the five samples is ~0 at a smooth point and proportional to the slope jump when a kink
// lies within 2h of x_i; when it is large enough to move the difference quotient past the
// tolerance, the coordinate is reported as skipped. Too many skipped coordinates fail.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace augur::test {

struct GradCheckOptions {
  size_t max_coordinates = 0;      // 0: check all; else a seeded random subset of this size
  uint64_t seed = 1;               // picks the subset
  double max_kink_fraction = 0.1;  // fail when more coordinates than this sit on a kink
  double relative_floor = 1e-7;    // analytic backward rounding, relative to |gradient|
};

struct GradCheckResult {
  bool ok = true;
  size_t checked = 0;
  size_t kinks = 0;
  size_t failures = 0;
  double max_error_ratio = 0;  // max over coordinates of |analytic - numeric| / tolerance
  std::string report;          // the first failures with index, analytic and numeric values
};

using ScalarFunction = std::function<double(const std::vector<double>&)>;

// `analytic[i]` must be d f / d x[i] at `x`. `x` is taken by value and perturbed locally.
GradCheckResult check_gradient(const ScalarFunction& f, std::vector<double> x,
                               const std::vector<double>& analytic,
                               const GradCheckOptions& options = {});

}  // namespace augur::test

#define AUGUR_CHECK_GRADIENT(result)  \
  do {                                \
    const auto& augur_gc_ = (result); \
    INFO(augur_gc_.report);           \
    CHECK(augur_gc_.ok);              \
  } while (0)
