#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "tests/support/grad_check.h"
#include "tests/support/random.h"

using namespace augur::test;

namespace {
// f(x) = sum_i w_i * tanh(x_i) * x_{i+1}: smooth, with cross terms.
double smooth(const std::vector<double>& x) {
  double s = 0;
  for (size_t i = 0; i + 1 < x.size(); ++i) s += (0.5 + 0.1 * i) * std::tanh(x[i]) * x[i + 1];
  return s;
}
std::vector<double> smooth_grad(const std::vector<double>& x) {
  std::vector<double> g(x.size(), 0.0);
  for (size_t i = 0; i + 1 < x.size(); ++i) {
    const double w = 0.5 + 0.1 * i, t = std::tanh(x[i]);
    g[i] += w * (1 - t * t) * x[i + 1];
    g[i + 1] += w * t;
  }
  return g;
}
}  // namespace

TEST_CASE("the gradient checker accepts a correct gradient", "[support]") {
  const auto x = random_doubles(20, 5, -2, 2);
  const auto r = check_gradient(smooth, x, smooth_grad(x));
  AUGUR_CHECK_GRADIENT(r);
  CHECK(r.checked == 20);
  CHECK(r.kinks == 0);
}

TEST_CASE("the gradient checker catches a deliberately wrong gradient", "[support]") {
  const auto x = random_doubles(20, 6, -2, 2);
  auto g = smooth_grad(x);
  SECTION("one entry off by 1%") {
    g[13] *= 1.01;
  }
  SECTION("a dropped cross term") {
    g[5] -= (0.5 + 0.1 * 4) * std::tanh(x[4]);
  }
  SECTION("sign flipped") {
    g[0] = -g[0];
  }
  const auto r = check_gradient(smooth, x, g);
  CHECK_FALSE(r.ok);
  CHECK(r.failures == 1);
}

TEST_CASE("kinks are detected and skipped, not hidden by loose tolerances", "[support]") {
  // f(x) = sum relu(x_i) * c_i with x_3 placed exactly on the kink.
  auto relu_sum = [](const std::vector<double>& x) {
    double s = 0;
    for (size_t i = 0; i < x.size(); ++i) s += (1.0 + i) * std::max(0.0, x[i]);
    return s;
  };
  std::vector<double> x = random_doubles(30, 8, -1, 1);
  x[3] = 0.0;
  x[9] = 1e-9;  // within one step of the kink
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) g[i] = x[i] > 0 ? 1.0 + i : 0.0;
  const auto r = check_gradient(relu_sum, x, g);
  AUGUR_CHECK_GRADIENT(r);
  CHECK(r.kinks == 2);
  CHECK(r.checked == 28);

  // A wrong slope away from the kinks is still caught.
  g[20] = x[20] > 0 ? 0.0 : 1.0;
  CHECK_FALSE(check_gradient(relu_sum, x, g).ok);
}

TEST_CASE("too many kinks fail the check", "[support]") {
  auto abs_sum = [](const std::vector<double>& x) {
    double s = 0;
    for (double v : x) s += std::fabs(v);
    return s;
  };
  const std::vector<double> x(10, 0.0);
  const auto r = check_gradient(abs_sum, x, std::vector<double>(10, 0.0));
  CHECK_FALSE(r.ok);
  CHECK(r.kinks == 10);
}

TEST_CASE("a random subset of coordinates can be checked", "[support]") {
  const auto x = random_doubles(200, 9, -2, 2);
  GradCheckOptions opt;
  opt.max_coordinates = 25;
  const auto r = check_gradient(smooth, x, smooth_grad(x), opt);
  AUGUR_CHECK_GRADIENT(r);
  CHECK(r.checked == 25);
}
