// Seeded batch-norm cases run through every op on any device and dtype, with the tolerances
// that comparing two implementations on them allows (derived from the arithmetic).
//
// Every implementation gets the very same inputs: the ops after batchnorm_stats are fed one
// common set of statistics (and backward one common saved output y), so each comparison sees
// only the rounding of the op under test, and a ReLU mask never differs between the two sides.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <vector>

#include "kernels/batchnorm.h"
#include "tests/support/close.h"
#include "tests/support/random.h"
#include "tests/support/tensors.h"

namespace augur::test::bn {

using Vec = std::vector<double>;
namespace k = augur::kernels;

constexpr double kEps = 1e-5;
constexpr double kMomentum = 0.1;
constexpr int kVariants = 4;  // bit 0: fused ReLU, bit 1: residual add

inline k::BnActivation act_of(int variant) {
  return variant & 1 ? k::BnActivation::Relu : k::BnActivation::None;
}
inline bool residual_of(int variant) {
  return (variant & 2) != 0;
}

// f32-representable values, so that the f32 and f64 implementations see identical inputs.
inline Vec float_values(size_t n, uint64_t seed, double lo, double hi) {
  const auto f = random_floats(n, seed, static_cast<float>(lo), static_cast<float>(hi));
  return Vec(f.begin(), f.end());
}

struct Inputs {
  Shape shape;
  int64_t rows = 0, channels = 0;
  Vec x, gamma, beta, residual, dy;
  Vec dgamma0, dbeta0;              // what the gradients hold before backward adds to them
  Vec running_mean0, running_var0;  // running statistics before the updates
};

// Channel c has its own offset and spread, so channels differ and |mean| is not small.
inline Inputs make_inputs(Shape shape, uint64_t seed) {
  Inputs in;
  in.shape = shape;
  in.channels = shape[3];
  in.rows = shape.numel() / std::max<int64_t>(1, in.channels);
  const auto n = static_cast<size_t>(shape.numel());
  const auto c = static_cast<size_t>(in.channels);
  in.x = float_values(n, seed, -1, 1);
  const Vec offset = float_values(c, seed + 1, -3, 3), spread = float_values(c, seed + 2, 0.1, 2);
  for (size_t i = 0; i < n; ++i)
    in.x[i] = static_cast<float>(offset[i % c] + spread[i % c] * in.x[i]);
  in.gamma = float_values(c, seed + 3, -1.5, 1.5);
  in.beta = float_values(c, seed + 4, -1, 1);
  in.residual = float_values(n, seed + 5, -1, 1);
  in.dy = float_values(n, seed + 6, -1, 1);
  in.dgamma0 = float_values(c, seed + 7, -1, 1);
  in.dbeta0 = float_values(c, seed + 8, -1, 1);
  in.running_mean0 = float_values(c, seed + 9, -1, 1);
  in.running_var0 = float_values(c, seed + 10, 0.5, 2);
  return in;
}

// The inputs shared by all implementations after the statistics: common statistics, the
// common saved output y per variant, and a second micro-batch's statistics for `deferred`.
struct Common {
  Vec mean, invstd;
  Vec y[kVariants];
  Vec mean2, invstd2;
  int64_t count2 = 0;
};

struct Outputs {
  Vec mean, invstd;
  Vec y[kVariants], y_infer[kVariants];
  Vec dx[kVariants], dgamma[kVariants], dbeta[kVariants], dresidual[kVariants];
  Vec running_mean_micro, running_var_micro, running_mean_deferred, running_var_deferred;
};

template <class T>
Tensor tensor_of(const Vec& v, Shape shape, const Device& device, const Stream& stream) {
  return make_tensor(std::vector<T>(v.begin(), v.end()), shape, device, stream);
}

template <class T>
Vec values_of(const TensorView& t, const Stream& stream) {
  const auto v = to_vector<T>(t, stream);
  return Vec(v.begin(), v.end());
}

// Runs every op with storage type T on `device`. When `common` is null only the statistics
// are computed (the first run, which produces the common inputs).
template <class T>
Outputs run_ops(const Inputs& in, const Common* common, const Device& device,
                const Stream& stream) {
  Outputs out;
  const Shape cs{in.channels};
  auto t = [&](const Vec& v, Shape s) { return tensor_of<T>(v, s, device, stream); };
  auto empty = [&](Shape s) { return Tensor::empty(s, dtype_of<T>(), device, &stream); };
  Tensor x = t(in.x, in.shape), mean = empty(cs), invstd = empty(cs);
  k::batchnorm_stats(x, mean, invstd, kEps, stream);
  out.mean = values_of<T>(mean, stream);
  out.invstd = values_of<T>(invstd, stream);
  if (!common) return out;

  Tensor gamma = t(in.gamma, cs), beta = t(in.beta, cs), res = t(in.residual, in.shape),
         dy = t(in.dy, in.shape), cm = t(common->mean, cs), ci = t(common->invstd, cs);
  Tensor y = empty(in.shape), dx = empty(in.shape), dres = empty(in.shape);
  Tensor rm = t(in.running_mean0, cs), rv = t(in.running_var0, cs);
  for (int v = 0; v < kVariants; ++v) {
    const TensorView r = residual_of(v) ? res.view() : TensorView();
    k::batchnorm_forward_train(x, gamma, beta, cm, ci, r, act_of(v), y, stream);
    out.y[v] = values_of<T>(y, stream);
    k::batchnorm_forward_infer(x, gamma, beta, rm, rv, kEps, r, act_of(v), y, stream);
    out.y_infer[v] = values_of<T>(y, stream);

    Tensor saved_y = t(common->y[v], in.shape), dgamma = t(in.dgamma0, cs),
           dbeta = t(in.dbeta0, cs);
    const TensorView yv = act_of(v) == k::BnActivation::Relu ? saved_y.view() : TensorView();
    const TensorView dr = residual_of(v) ? dres.view() : TensorView();
    k::batchnorm_backward(x, yv, dy, gamma, cm, ci, act_of(v), dx, dgamma, dbeta, dr, stream);
    out.dx[v] = values_of<T>(dx, stream);
    out.dgamma[v] = values_of<T>(dgamma, stream);
    out.dbeta[v] = values_of<T>(dbeta, stream);
    if (residual_of(v)) out.dresidual[v] = values_of<T>(dres, stream);
  }

  k::batchnorm_update_running(cm, ci, kEps, in.rows, kMomentum, rm, rv, stream);
  out.running_mean_micro = values_of<T>(rm, stream);
  out.running_var_micro = values_of<T>(rv, stream);

  Tensor rm2 = t(in.running_mean0, cs), rv2 = t(in.running_var0, cs);
  Tensor acc = Tensor::zeros(Shape{3, in.channels}, dtype_of<T>(), device, stream);
  Tensor cm2 = t(common->mean2, cs), ci2 = t(common->invstd2, cs);
  k::batchnorm_accumulate_stats(cm, ci, kEps, in.rows, acc, stream);
  k::batchnorm_accumulate_stats(cm2, ci2, kEps, common->count2, acc, stream);
  k::batchnorm_apply_deferred(acc, kMomentum, rm2, rv2, stream);
  out.running_mean_deferred = values_of<T>(rm2, stream);
  out.running_var_deferred = values_of<T>(rv2, stream);
  return out;
}

// The common inputs, from a first run (any implementation will do: both sides get them).
inline Common make_common(const Inputs& in, const Outputs& first, const Device& device,
                          const Stream& stream) {
  Common c;
  c.mean = first.mean;
  c.invstd = first.invstd;
  const Shape cs{in.channels};
  Tensor x = tensor_of<float>(in.x, in.shape, device, stream);
  Tensor gamma = tensor_of<float>(in.gamma, cs, device, stream),
         beta = tensor_of<float>(in.beta, cs, device, stream),
         res = tensor_of<float>(in.residual, in.shape, device, stream),
         cm = tensor_of<float>(c.mean, cs, device, stream),
         ci = tensor_of<float>(c.invstd, cs, device, stream);
  Tensor y = Tensor::empty(in.shape, DType::F32, device, &stream);
  for (int v = 0; v < kVariants; ++v) {
    k::batchnorm_forward_train(x, gamma, beta, cm, ci, residual_of(v) ? res.view() : TensorView(),
                               act_of(v), y, stream);
    c.y[v] = values_of<float>(y, stream);
  }
  c.count2 = in.rows + 3;
  for (size_t i = 0; i < c.mean.size(); ++i) {
    c.mean2.push_back(static_cast<float>(c.mean[i] + 0.5));
    c.invstd2.push_back(static_cast<float>(c.invstd[i] * 0.75));
  }
  return c;
}

// ---- tolerances for an f32 implementation against another (f32 or f64) one ----

inline double u32() {
  return dtype_unit_roundoff(DType::F32);
}

// Per-channel statistics of x in double, two-pass (independent of the ops under test).
struct ExactStats {
  Vec mean, var;
};
inline ExactStats exact_stats(const Vec& x, int64_t rows, int64_t channels) {
  ExactStats s{Vec(channels, 0.0), Vec(channels, 0.0)};
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < channels; ++c) s.mean[c] += x[r * channels + c];
  for (auto& m : s.mean) m /= static_cast<double>(rows);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < channels; ++c) {
      const double d = x[r * channels + c] - s.mean[c];
      s.var[c] += d * d;
    }
  for (auto& v : s.var) v /= static_cast<double>(rows);
  return s;
}

struct StatsTolerance {
  std::vector<Tolerance> mean, invstd;
};

// mean: a sum of the R terms x/R. Variance: R terms (x - m)^2 / R, each formed from a
// deviation whose rounding is relative to its operands (|x - m| and |m|), hence the terms
// |x - m| (|x - m| + |m|) / R; an error d in the mean enters the variance as d^2 only.
// invstd = (var + eps)^(-1/2) moves by invstd^3 / 2 per unit of variance, and rounds three
// times (add, sqrt, divide) on each side.
inline StatsTolerance stats_tolerance(const Inputs& in) {
  const ExactStats e = exact_stats(in.x, in.rows, in.channels);
  StatsTolerance t;
  for (int64_t c = 0; c < in.channels; ++c) {
    double s_mean = 0, s_var = 0;
    for (int64_t r = 0; r < in.rows; ++r) {
      const double x = in.x[r * in.channels + c], d = std::fabs(x - e.mean[c]);
      s_mean += std::fabs(x);
      s_var += d * (d + std::fabs(e.mean[c]));
    }
    const Tolerance tm = derived_tolerance(DType::F32, in.rows, s_mean / in.rows);
    const double var_abs =
        derived_tolerance(DType::F32, in.rows, s_var / in.rows).abs + tm.abs * tm.abs;
    const double invstd = 1.0 / std::sqrt(e.var[c] + kEps);
    t.mean.push_back(tm);
    t.invstd.push_back({0.5 * invstd * invstd * invstd * var_abs, 6 * u32()});
  }
  return t;
}

// y = gamma * (x - mean) * invstd + beta + residual: five roundings per element (eight for
// inference, which also forms invstd from the running variance), relative to its terms.
inline Tolerance forward_tolerance(const Inputs& in, const Common& c, bool infer) {
  double s = 0;
  for (int64_t r = 0; r < in.rows; ++r)
    for (int64_t ch = 0; ch < in.channels; ++ch) {
      const int64_t i = r * in.channels + ch;
      const double m = infer ? in.running_mean0[ch] : c.mean[ch];
      const double is = infer ? 1 / std::sqrt(in.running_var0[ch] + kEps) : c.invstd[ch];
      s = std::max(s, std::fabs(in.gamma[ch] * (in.x[i] - m) * is) + std::fabs(in.beta[ch]) +
                          std::fabs(in.residual[i]));
    }
  return derived_tolerance(DType::F32, infer ? 8 : 5, s);
}

struct BackwardTolerance {
  std::vector<Tolerance> dgamma, dbeta;
  Tolerance dx;
};

// sum(g) and sum(g (x - m)) are R-term sums (each product also rounds twice, relative to
// |g| |x - m|); dgamma and dbeta add them (times invstd) to their old values; dx takes the
// sums divided by R through bn_input_grad (about eight roundings per element).
inline BackwardTolerance backward_tolerance(const Inputs& in, const Common& c, int variant) {
  BackwardTolerance t;
  const double u = u32();
  double dx_abs = 0;
  for (int64_t ch = 0; ch < in.channels; ++ch) {
    const double m = c.mean[ch], is = c.invstd[ch], R = static_cast<double>(in.rows);
    double sg = 0, sgx = 0, abs_g = 0, abs_gx = 0, max_xc = 0;
    for (int64_t r = 0; r < in.rows; ++r) {
      const int64_t i = r * in.channels + ch;
      const bool relu = act_of(variant) == k::BnActivation::Relu;
      const double g = relu && !(c.y[variant][i] > 0) ? 0.0 : in.dy[i];
      sg += g;
      sgx += g * (in.x[i] - m);
      abs_g += std::fabs(g);
      abs_gx += std::fabs(g * (in.x[i] - m));
      max_xc = std::max(max_xc, std::fabs(in.x[i] - m));
    }
    const double tol_sg = derived_tolerance(DType::F32, in.rows, abs_g).abs;
    const double tol_sgx = derived_tolerance(DType::F32, in.rows, abs_gx).abs + 4 * u * abs_gx;
    t.dbeta.push_back({tol_sg, 2 * u});
    t.dgamma.push_back({tol_sgx * is + 4 * u * std::fabs(sgx * is), 2 * u});
    const double kk = std::fabs(in.gamma[ch]) * is;
    double elem = 0;
    for (int64_t r = 0; r < in.rows; ++r) {
      const int64_t i = r * in.channels + ch;
      elem = std::max(elem, kk * (std::fabs(in.dy[i]) + std::fabs(sg / R) +
                                  std::fabs(in.x[i] - m) * is * is * std::fabs(sgx / R)));
    }
    const double from_sums = kk * (tol_sg / R + max_xc * is * is * tol_sgx / R);
    dx_abs = std::max(dx_abs, from_sums + derived_tolerance(DType::F32, 8, elem).abs);
  }
  t.dx = {dx_abs, 2 * u};
  return t;
}

struct RunningTolerance {
  std::vector<Tolerance> micro_mean, micro_var, deferred_mean, deferred_var;
};

// Each update is a short chain of roundings relative to its terms: (1 - m) running and
// m times the batch value; the variance is recovered from invstd (three roundings relative to
// var + eps) and Bessel-corrected; `deferred` first merges two micro-batches (Chan's rule,
// whose terms include the squared distance of each micro-batch mean from the merged one).
inline RunningTolerance running_tolerance(const Inputs& in, const Common& c) {
  RunningTolerance t;
  const double mo = kMomentum;
  for (int64_t ch = 0; ch < in.channels; ++ch) {
    const double n1 = static_cast<double>(in.rows), n2 = static_cast<double>(c.count2);
    const double ve1 = 1 / (c.invstd[ch] * c.invstd[ch]), ve2 = 1 / (c.invstd2[ch] * c.invstd2[ch]);
    const double spread = (c.mean2[ch] - c.mean[ch]) * (c.mean2[ch] - c.mean[ch]);
    const double rm0 = std::fabs(in.running_mean0[ch]), rv0 = std::fabs(in.running_var0[ch]);
    t.micro_mean.push_back(
        derived_tolerance(DType::F32, 3, (1 - mo) * rm0 + mo * std::fabs(c.mean[ch])));
    t.micro_var.push_back(
        derived_tolerance(DType::F32, 8, (1 - mo) * rv0 + mo * ve1 * n1 / (n1 - 1)));
    const double n = n1 + n2;
    t.deferred_mean.push_back(derived_tolerance(
        DType::F32, 8, (1 - mo) * rm0 + mo * (std::fabs(c.mean[ch]) + std::fabs(c.mean2[ch]))));
    t.deferred_var.push_back(derived_tolerance(
        DType::F32, 16, (1 - mo) * rv0 + mo * (n1 * ve1 + n2 * ve2 + n * spread) / (n - 1)));
  }
  return t;
}

// Checks actual[i] against expected[i] with the tolerance of channel i % channels.
inline void check_channels(const Vec& actual, const Vec& expected,
                           const std::vector<Tolerance>& tol, const char* what) {
  REQUIRE(actual.size() == expected.size());
  size_t bad = 0;
  std::ostringstream os;
  for (size_t i = 0; i < actual.size(); ++i) {
    const Tolerance& t = tol[i % tol.size()];
    const double err = std::fabs(actual[i] - expected[i]);
    if (!(err <= t.abs + t.rel * std::fabs(expected[i]))) {
      if (bad < 8)
        os << "  [" << i << "] actual " << actual[i] << " expected " << expected[i] << " |diff| "
           << err << " allowed " << t.abs + t.rel * std::fabs(expected[i]) << "\n";
      ++bad;
    }
  }
  INFO(what << ": " << bad << " of " << actual.size() << " outside tolerance\n" << os.str());
  CHECK(bad == 0);
}

// An f32 implementation (`actual`) against a reference (`expected`) on the same inputs.
inline void check_agreement(const Inputs& in, const Common& c, const Outputs& actual,
                            const Outputs& expected) {
  const StatsTolerance st = stats_tolerance(in);
  check_channels(actual.mean, expected.mean, st.mean, "mean");
  check_channels(actual.invstd, expected.invstd, st.invstd, "invstd");
  for (int v = 0; v < kVariants; ++v) {
    INFO("variant: relu " << (act_of(v) == k::BnActivation::Relu) << ", residual "
                          << residual_of(v));
    AUGUR_CHECK_CLOSE(actual.y[v], expected.y[v], forward_tolerance(in, c, false));
    AUGUR_CHECK_CLOSE(actual.y_infer[v], expected.y_infer[v], forward_tolerance(in, c, true));
    const BackwardTolerance bt = backward_tolerance(in, c, v);
    AUGUR_CHECK_CLOSE(actual.dx[v], expected.dx[v], bt.dx);
    check_channels(actual.dgamma[v], expected.dgamma[v], bt.dgamma, "dgamma");
    check_channels(actual.dbeta[v], expected.dbeta[v], bt.dbeta, "dbeta");
    CHECK(actual.dresidual[v] == expected.dresidual[v]);  // masked dy: no arithmetic
  }
  const RunningTolerance rt = running_tolerance(in, c);
  check_channels(actual.running_mean_micro, expected.running_mean_micro, rt.micro_mean,
                 "running_mean (micro)");
  check_channels(actual.running_var_micro, expected.running_var_micro, rt.micro_var,
                 "running_var (micro)");
  check_channels(actual.running_mean_deferred, expected.running_mean_deferred, rt.deferred_mean,
                 "running_mean (deferred)");
  check_channels(actual.running_var_deferred, expected.running_var_deferred, rt.deferred_var,
                 "running_var (deferred)");
}

}  // namespace augur::test::bn
