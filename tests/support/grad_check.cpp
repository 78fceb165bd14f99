#include "tests/support/grad_check.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>

#include "tests/support/random.h"

namespace augur::test {

GradCheckResult check_gradient(const ScalarFunction& f, std::vector<double> x,
                               const std::vector<double>& analytic,
                               const GradCheckOptions& options) {
  GradCheckResult r;
  std::ostringstream fails;
  if (analytic.size() != x.size()) {
    r.ok = false;
    r.report = "analytic gradient has " + std::to_string(analytic.size()) + " entries for " +
               std::to_string(x.size()) + " inputs";
    return r;
  }
  std::vector<size_t> coords(x.size());
  std::iota(coords.begin(), coords.end(), size_t(0));
  if (options.max_coordinates && options.max_coordinates < coords.size()) {
    Rng rng(options.seed);
    for (size_t i = 0; i < options.max_coordinates; ++i) {  // partial Fisher-Yates
      const size_t j = i + rng.next_u64() % (coords.size() - i);
      std::swap(coords[i], coords[j]);
    }
    coords.resize(options.max_coordinates);
  }

  constexpr double kEps = std::numeric_limits<double>::epsilon();
  constexpr double kSafety = 10.0;
  const double f0 = f(x);
  for (size_t i : coords) {
    const double xi = x[i];
    const double h = std::cbrt(kEps) * std::max(1.0, std::fabs(xi));
    auto at = [&](double dx) {
      x[i] = xi + dx;
      const double v = f(x);
      x[i] = xi;
      return v;
    };
    const double fp = at(h), fm = at(-h), fp2 = at(2 * h), fm2 = at(-2 * h);
    const double d1 = (fp - fm) / (2 * h);
    const double d2 = (fp2 - fm2) / (4 * h);
    const double fscale =
        std::max({std::fabs(f0), std::fabs(fp), std::fabs(fm), std::fabs(fp2), std::fabs(fm2)});
    const double roundoff = 4 * kEps * fscale / h;
    const double tol = kSafety * (std::fabs(d2 - d1) / 3 + roundoff) +
                       options.relative_floor * std::max(std::fabs(d1), std::fabs(analytic[i]));

    // The fourth difference vanishes (to O(h^4 f^(4))) at a smooth point; for a kink of
    // slope jump J at distance d < 2h it equals J h M4(d/h), with M4 the cubic B-spline, and
    // the kink moves D(h) by at most 3 |fourth| / h. Rounding of the five values adds up to
    // 16 eps |f|.
    const double fourth = fp2 - 4 * fp + 6 * f0 - 4 * fm + fm2;
    const double kink_effect = 3 * (std::fabs(fourth) - 16 * kEps * fscale) / h;
    const bool kink = kink_effect > tol;
    if (kink) {
      ++r.kinks;
      continue;
    }
    ++r.checked;
    const double err = std::fabs(analytic[i] - d1);
    const double ratio = tol > 0 ? err / tol : (err > 0 ? INFINITY : 0);
    r.max_error_ratio = std::max(r.max_error_ratio, ratio);
    if (!(err <= tol)) {
      if (r.failures < 8)
        fails << "  d/dx[" << i << "]: analytic " << analytic[i] << ", numeric " << d1
              << ", |diff| " << err << " > tolerance " << tol << "\n";
      ++r.failures;
    }
  }
  const size_t considered = r.checked + r.kinks;
  const bool too_many_kinks =
      considered > 0 && static_cast<double>(r.kinks) > options.max_kink_fraction * considered;
  r.ok = r.failures == 0 && !too_many_kinks && r.checked > 0;
  std::ostringstream os;
  os << "gradient check: " << r.checked << " coordinates checked, " << r.kinks
     << " skipped at kinks, " << r.failures << " failed; max error/tolerance " << r.max_error_ratio
     << "\n";
  if (too_many_kinks) os << "  too many kinks (limit " << options.max_kink_fraction << ")\n";
  if (r.checked == 0) os << "  nothing was checked\n";
  r.report = os.str() + fails.str();
  return r;
}

}  // namespace augur::test
