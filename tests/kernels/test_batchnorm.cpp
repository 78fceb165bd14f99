// Batch norm's semantics on the CPU reference: hand-computed anchors, gradient checks in
// double precision, the two running-statistics policies, gradient accumulation and argument
// checks. Agreement between precisions and with CUDA lives in test_batchnorm_agreement.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "kernels/batchnorm.h"
#include "tests/kernels/batchnorm_cases.h"
#include "tests/support/close.h"
#include "tests/support/grad_check.h"
#include "tests/support/random.h"
#include "tests/support/tensors.h"

using namespace augur;
using namespace augur::test;
using augur::test::bn::Vec;
namespace k = augur::kernels;

namespace {

const Device kCpu = Device::cpu();

template <class T>
Tensor filled(std::vector<T> v, Shape shape) {
  return make_tensor(v, shape, kCpu, Stream::cpu());
}
template <class T>
Tensor uninit(Shape shape) {
  return Tensor::empty(shape, dtype_of<T>(), kCpu);
}
template <class T>
std::vector<T> get(const TensorView& t) {
  return to_vector<T>(t, Stream::cpu());
}

}  // namespace

TEMPLATE_TEST_CASE("batchnorm on two values per channel, by hand", "[kernels]", float, double) {
  using T = TestType;
  const Stream& s = Stream::cpu();
  // NHWC [2, 1, 1, 2]. Channel 0 holds {1, 3}: mean 2, biased variance 1, unbiased 2.
  // Channel 1 holds {-2, 2}: mean 0, biased variance 4, unbiased 8.
  Tensor x = filled<T>({1, -2, 3, 2}, Shape{2, 1, 1, 2});
  Tensor mean = uninit<T>(Shape{2}), invstd = uninit<T>(Shape{2});
  Tensor gamma = filled<T>({2, -1}, Shape{2}), beta = filled<T>({0.5, 1}, Shape{2});
  Tensor y = uninit<T>(Shape{2, 1, 1, 2});
  const T u = static_cast<T>(dtype_unit_roundoff(dtype_of<T>()));

  SECTION("eps = 0: every value exact") {
    k::batchnorm_stats(x, mean, invstd, 0.0, s);
    CHECK(get<T>(mean) == std::vector<T>{2, 0});
    CHECK(get<T>(invstd) == std::vector<T>{1, 0.5});
    // xhat = {-1, 1} in both channels; y = gamma * xhat + beta.
    k::batchnorm_forward_train(x, gamma, beta, mean, invstd, {}, k::BnActivation::None, y, s);
    CHECK(get<T>(y) == std::vector<T>{-1.5, 2, 2.5, 0});
    k::batchnorm_forward_train(x, gamma, beta, mean, invstd, {}, k::BnActivation::Relu, y, s);
    CHECK(get<T>(y) == std::vector<T>{0, 2, 2.5, 0});
    // In place (y aliases x) is allowed when no backward follows.
    Tensor x2 = filled<T>({1, -2, 3, 2}, Shape{2, 1, 1, 2});
    k::batchnorm_forward_train(x2, gamma, beta, mean, invstd, {}, k::BnActivation::None, x2, s);
    CHECK(get<T>(x2) == std::vector<T>{-1.5, 2, 2.5, 0});
  }

  SECTION("eps = 1e-5 and one running-statistics update") {
    k::batchnorm_stats(x, mean, invstd, 1e-5, s);
    const auto is = get<T>(invstd);
    CHECK(is[0] == Approx(1 / std::sqrt(1 + 1e-5)).epsilon(4 * u));
    CHECK(is[1] == Approx(1 / std::sqrt(4 + 1e-5)).epsilon(4 * u));
    // PyTorch's initial running statistics (0, 1), momentum 0.1, count N*H*W = 2:
    //   running_mean = 0.9 * 0 + 0.1 * {2, 0} = {0.2, 0}
    //   running_var  = 0.9 * 1 + 0.1 * {2, 8} = {1.1, 1.7}   (unbiased variances)
    Tensor rm = filled<T>({0, 0}, Shape{2}), rv = filled<T>({1, 1}, Shape{2});
    k::batchnorm_update_running(mean, invstd, 1e-5, 2, 0.1, rm, rv, s);
    const auto m = get<T>(rm), v = get<T>(rv);
    CHECK(m[0] == Approx(0.2).epsilon(8 * u));
    CHECK(m[1] == 0);
    CHECK(v[0] == Approx(1.1).epsilon(16 * u));
    CHECK(v[1] == Approx(1.7).epsilon(16 * u));
  }

  SECTION("inference uses the running statistics") {
    // running_mean {1, 0}, running_var {3, 15}, eps 1: invstd {1/2, 1/4}.
    Tensor rm = filled<T>({1, 0}, Shape{2}), rv = filled<T>({3, 15}, Shape{2});
    k::batchnorm_forward_infer(x, gamma, beta, rm, rv, 1.0, {}, k::BnActivation::None, y, s);
    CHECK(get<T>(y) == std::vector<T>{0.5, 1.5, 2.5, 0.5});
    // + residual {-1, -1, -3, -1} = {-0.5, 0.5, -0.5, -0.5}, then ReLU.
    Tensor res = filled<T>({-1, -1, -3, -1}, Shape{2, 1, 1, 2});
    k::batchnorm_forward_infer(x, gamma, beta, rm, rv, 1.0, res, k::BnActivation::Relu, y, s);
    CHECK(get<T>(y) == std::vector<T>{0, 0.5, 0, 0});
  }
}

TEMPLATE_TEST_CASE("batchnorm backward on four values per channel, by hand", "[kernels]", float,
                   double) {
  using T = TestType;
  const Stream& s = Stream::cpu();
  // NHWC [1, 2, 2, 2]. Channel 0 holds {0, 0, 0, 4}, channel 1 {5, 1, 1, 1}: means {1, 2},
  // biased variances 3, so with eps = 1 invstd = 1/2 and xhat is {-1/2, -1/2, -1/2, 3/2} and
  // {3/2, -1/2, -1/2, -1/2}. gamma {1, 2}, beta {1/4, 0}.
  const Shape shape{1, 2, 2, 2};
  Tensor x = filled<T>({0, 5, 0, 1, 0, 1, 4, 1}, shape);
  Tensor gamma = filled<T>({1, 2}, Shape{2}), beta = filled<T>({0.25, 0}, Shape{2});
  Tensor mean = uninit<T>(Shape{2}), invstd = uninit<T>(Shape{2});
  k::batchnorm_stats(x, mean, invstd, 1.0, s);
  CHECK(get<T>(mean) == std::vector<T>{1, 2});
  CHECK(get<T>(invstd) == std::vector<T>{0.5, 0.5});
  Tensor y = uninit<T>(shape), dx = uninit<T>(shape), dres = uninit<T>(shape);
  Tensor dgamma = filled<T>({10, 20}, Shape{2}), dbeta = filled<T>({10, 20}, Shape{2});

  SECTION("plain") {
    k::batchnorm_forward_train(x, gamma, beta, mean, invstd, {}, k::BnActivation::None, y, s);
    CHECK(get<T>(y) == std::vector<T>{-0.25, 3, -0.25, -1, -0.25, -1, 1.75, -1});
    // dy picks the first value of channel 0 and the last of channel 1: sum g = 1 and
    // sum g xhat = -1/2 in both; dx = gamma invstd (g - 1/4 + xhat / 8).
    Tensor dy = filled<T>({1, 0, 0, 0, 0, 0, 0, 1}, shape);
    k::batchnorm_backward(x, {}, dy, gamma, mean, invstd, k::BnActivation::None, dx, dgamma, dbeta,
                          {}, s);
    CHECK(get<T>(dx) ==
          std::vector<T>{0.34375, -0.0625, -0.15625, -0.3125, -0.15625, -0.3125, -0.03125, 0.6875});
    CHECK(get<T>(dgamma) == std::vector<T>{9.5, 19.5});  // accumulated onto 10, 20
    CHECK(get<T>(dbeta) == std::vector<T>{11, 21});
  }

  SECTION("fused residual add + ReLU") {
    // A zero residual keeps the numbers; ReLU leaves {0, 0, 0, 7/4} and {3, 0, 0, 0}.
    Tensor zero = filled<T>(std::vector<T>(8, 0), shape);
    k::batchnorm_forward_train(x, gamma, beta, mean, invstd, zero, k::BnActivation::Relu, y, s);
    CHECK(get<T>(y) == std::vector<T>{0, 3, 0, 0, 0, 0, 1.75, 0});
    // dy = 1 everywhere, so g is the mask: sum g = 1, sum g xhat = 3/2 in both channels;
    // dx = gamma invstd (g - 1/4 - xhat * 3/8).
    Tensor dy = filled<T>(std::vector<T>(8, 1), shape);
    k::batchnorm_backward(x, y, dy, gamma, mean, invstd, k::BnActivation::Relu, dx, dgamma, dbeta,
                          dres, s);
    CHECK(get<T>(dx) ==
          std::vector<T>{-0.03125, 0.1875, -0.03125, -0.0625, -0.03125, -0.0625, 0.09375, -0.0625});
    CHECK(get<T>(dres) == std::vector<T>{0, 1, 0, 0, 0, 0, 1, 0});
    CHECK(get<T>(dgamma) == std::vector<T>{11.5, 21.5});
    CHECK(get<T>(dbeta) == std::vector<T>{11, 21});
  }
}

namespace {

// f = sum(y * w) for the training forward (stats + normalise) of one variant, as a function
// of x, gamma, beta and (with a residual) the residual, packed in that order.
struct GradProblem {
  Shape shape{2, 3, 3, 5};
  int variant = 0;
  Vec w;

  int64_t n() const { return shape.numel(); }
  int64_t c() const { return shape[3]; }

  Tensor part(const Vec& p, int64_t offset, Shape s) const {
    return filled<double>(Vec(p.begin() + offset, p.begin() + offset + s.numel()), s);
  }

  Tensor forward(const Vec& p, Tensor* mean, Tensor* invstd) const {
    Tensor x = part(p, 0, shape), gamma = part(p, n(), Shape{c()}),
           beta = part(p, n() + c(), Shape{c()});
    Tensor res = bn::residual_of(variant) ? part(p, n() + 2 * c(), shape) : Tensor();
    *mean = uninit<double>(Shape{c()});
    *invstd = uninit<double>(Shape{c()});
    k::batchnorm_stats(x, *mean, *invstd, bn::kEps, Stream::cpu());
    Tensor y = uninit<double>(shape);
    k::batchnorm_forward_train(x, gamma, beta, *mean, *invstd, res, bn::act_of(variant), y,
                               Stream::cpu());
    return y;
  }

  double f(const Vec& p) const {
    Tensor mean, invstd;
    const auto y = get<double>(forward(p, &mean, &invstd));
    double sum = 0;
    for (size_t i = 0; i < y.size(); ++i) sum += y[i] * w[i];
    return sum;
  }

  Vec gradient(const Vec& p) const {
    Tensor mean, invstd;
    Tensor y = forward(p, &mean, &invstd);
    Tensor x = part(p, 0, shape), gamma = part(p, n(), Shape{c()}), dy = filled<double>(w, shape);
    Tensor dx = uninit<double>(shape), dres = uninit<double>(shape);
    Tensor dgamma = filled<double>(Vec(c(), 0.0), Shape{c()});
    Tensor dbeta = filled<double>(Vec(c(), 0.0), Shape{c()});
    const bool has_res = bn::residual_of(variant);
    k::batchnorm_backward(x, y, dy, gamma, mean, invstd, bn::act_of(variant), dx, dgamma, dbeta,
                          has_res ? dres.view() : TensorView(), Stream::cpu());
    Vec g = get<double>(dx);
    for (double v : get<double>(dgamma)) g.push_back(v);
    for (double v : get<double>(dbeta)) g.push_back(v);
    if (has_res)
      for (double v : get<double>(dres)) g.push_back(v);
    return g;
  }
};

}  // namespace

TEST_CASE("batchnorm training gradients pass a double-precision gradient check", "[kernels]") {
  for (int variant = 0; variant < bn::kVariants; ++variant) {
    INFO("relu " << (variant & 1) << ", residual " << (variant >> 1));
    GradProblem prob;
    prob.variant = variant;
    prob.w = random_doubles(prob.n(), 40 + variant);
    Vec p = random_doubles(prob.n(), 50 + variant, -2, 2);                   // x
    for (double v : random_doubles(prob.c(), 60, 0.5, 1.5)) p.push_back(v);  // gamma
    for (double v : random_doubles(prob.c(), 61, -1, 1)) p.push_back(v);     // beta
    if (bn::residual_of(variant))
      for (double v : random_doubles(prob.n(), 62, -1, 1)) p.push_back(v);
    const auto r = check_gradient([&](const Vec& q) { return prob.f(q); }, p, prob.gradient(p));
    AUGUR_CHECK_GRADIENT(r);
  }
}

TEMPLATE_TEST_CASE("micro: running statistics update after every micro-batch", "[kernels]", float,
                   double) {
  using T = TestType;
  const Stream& s = Stream::cpu();
  const T u = static_cast<T>(dtype_unit_roundoff(dtype_of<T>()));
  // One channel; micro-batch 1 is {1, 3} (mean 2, unbiased variance 2), micro-batch 2 is
  // {0, 4} (mean 2, unbiased variance 8). From (0, 1) with momentum 0.1:
  //   after 1: mean 0.2,                    var 0.9 * 1   + 0.1 * 2 = 1.1
  //   after 2: mean 0.9 * 0.2 + 0.2 = 0.38, var 0.9 * 1.1 + 0.1 * 8 = 1.79
  Tensor rm = filled<T>({0}, Shape{1}), rv = filled<T>({1}, Shape{1});
  Tensor mean = uninit<T>(Shape{1}), invstd = uninit<T>(Shape{1});
  const std::vector<std::vector<T>> batches = {{1, 3}, {0, 4}};
  const double expect_mean[] = {0.2, 0.38}, expect_var[] = {1.1, 1.79};
  for (size_t b = 0; b < batches.size(); ++b) {
    Tensor x = filled<T>(batches[b], Shape{2, 1, 1, 1});
    k::batchnorm_stats(x, mean, invstd, bn::kEps, s);
    k::batchnorm_update_running(mean, invstd, bn::kEps, 2, 0.1, rm, rv, s);
    CHECK(get<T>(rm)[0] == Approx(expect_mean[b]).epsilon(16 * u));
    CHECK(get<T>(rv)[0] == Approx(expect_var[b]).epsilon(32 * u));
  }
}

TEMPLATE_TEST_CASE("deferred: one update per mini-batch equals the whole mini-batch's statistics",
                   "[kernels]", float, double) {
  using T = TestType;
  const Stream& s = Stream::cpu();
  const DType dt = dtype_of<T>();
  const int64_t C = 4;
  // Micro-batches of unequal size (the last of a mini-batch may be short).
  const std::vector<int64_t> sizes = {2, 3, 1};
  const Shape cs{C};
  Tensor acc = Tensor::zeros(Shape{3, C}, dt, kCpu, s);
  Tensor rm = filled<T>({0, 0.5, -1, 2}, cs), rv = filled<T>({1, 2, 0.5, 1}, cs);
  const Vec rm0 = {0, 0.5, -1, 2}, rv0 = {1, 2, 0.5, 1};
  Tensor mean = uninit<T>(cs), invstd = uninit<T>(cs);
  Vec all;
  for (size_t b = 0; b < sizes.size(); ++b) {
    const Shape shape{sizes[b], 3, 3, C};
    Vec v = bn::float_values(shape.numel(), 70 + b, -1, 1);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(v[i] * (1 + i % C) + 3.0 * b);
    all.insert(all.end(), v.begin(), v.end());
    Tensor x = make_tensor(std::vector<T>(v.begin(), v.end()), shape, kCpu, s);
    k::batchnorm_stats(x, mean, invstd, bn::kEps, s);
    k::batchnorm_accumulate_stats(mean, invstd, bn::kEps, sizes[b] * 9, acc, s);
  }
  k::batchnorm_apply_deferred(acc, bn::kMomentum, rm, rv, s);
  CHECK(get<T>(acc) == std::vector<T>(3 * C, 0));  // cleared for the next mini-batch

  // Expected, from the concatenated mini-batch directly.
  const int64_t n = static_cast<int64_t>(all.size()) / C;
  const bn::ExactStats e = bn::exact_stats(all, n, C);
  const auto got_m = get<T>(rm), got_v = get<T>(rv);
  for (int64_t c = 0; c < C; ++c) {
    INFO("channel " << c);
    double s_mean = 0, s_var = 0;
    for (int64_t r = 0; r < n; ++r) {
      const double d = std::fabs(all[r * C + c] - e.mean[c]);
      s_mean += std::fabs(all[r * C + c]);
      s_var += d * (d + std::fabs(e.mean[c]));
    }
    // Each micro-batch's stats carry an n-term summation error; the merge and the update
    // add a few roundings relative to their terms.
    const double unbiased = e.var[c] * n / (n - 1);
    const double tol_m = bn::kMomentum * derived_tolerance(dt, n, s_mean / n).abs +
                         derived_tolerance(dt, 8, std::fabs(rm0[c]) + std::fabs(e.mean[c])).abs;
    const double tol_v = bn::kMomentum * derived_tolerance(dt, n, s_var / (n - 1)).abs +
                         derived_tolerance(dt, 16, rv0[c] + unbiased + bn::kEps).abs;
    CHECK(std::fabs(got_m[c] - ((1 - bn::kMomentum) * rm0[c] + bn::kMomentum * e.mean[c])) <=
          tol_m);
    CHECK(std::fabs(got_v[c] - ((1 - bn::kMomentum) * rv0[c] + bn::kMomentum * unbiased)) <= tol_v);
  }

  SECTION("an empty accumulator leaves the running statistics alone") {
    k::batchnorm_apply_deferred(acc, bn::kMomentum, rm, rv, s);
    CHECK(get<T>(rm) == got_m);
    CHECK(get<T>(rv) == got_v);
  }

  SECTION("one micro-batch per mini-batch is exactly `micro`") {
    Tensor x = make_tensor(std::vector<T>(all.begin(), all.begin() + 2 * 9 * C), Shape{2, 3, 3, C},
                           kCpu, s);
    k::batchnorm_stats(x, mean, invstd, bn::kEps, s);
    Tensor rm_a = filled<T>({0, 0.5, -1, 2}, cs), rv_a = filled<T>({1, 2, 0.5, 1}, cs);
    Tensor rm_b = filled<T>({0, 0.5, -1, 2}, cs), rv_b = filled<T>({1, 2, 0.5, 1}, cs);
    k::batchnorm_update_running(mean, invstd, bn::kEps, 18, bn::kMomentum, rm_a, rv_a, s);
    k::batchnorm_accumulate_stats(mean, invstd, bn::kEps, 18, acc, s);
    k::batchnorm_apply_deferred(acc, bn::kMomentum, rm_b, rv_b, s);
    CHECK(get<T>(rm_a) == get<T>(rm_b));
    CHECK(get<T>(rv_a) == get<T>(rv_b));
  }
}

TEMPLATE_TEST_CASE("batchnorm backward accumulates dgamma and dbeta and overwrites dx", "[kernels]",
                   float, double) {
  using T = TestType;
  const Stream& s = Stream::cpu();
  const bn::Inputs in = bn::make_inputs(Shape{2, 4, 4, 6}, 80);
  const Shape cs{in.channels};
  auto t = [&](const Vec& v, Shape sh) { return bn::tensor_of<T>(v, sh, kCpu, s); };
  Tensor x = t(in.x, in.shape), gamma = t(in.gamma, cs), beta = t(in.beta, cs),
         res = t(in.residual, in.shape), dy = t(in.dy, in.shape);
  Tensor mean = uninit<T>(cs), invstd = uninit<T>(cs), y = uninit<T>(in.shape);
  k::batchnorm_stats(x, mean, invstd, bn::kEps, s);
  k::batchnorm_forward_train(x, gamma, beta, mean, invstd, res, k::BnActivation::Relu, y, s);
  Tensor dgamma = t(Vec(in.channels, 0.0), cs), dbeta = t(Vec(in.channels, 0.0), cs);
  Tensor dx = uninit<T>(in.shape), dres = uninit<T>(in.shape);
  k::batchnorm_backward(x, y, dy, gamma, mean, invstd, k::BnActivation::Relu, dx, dgamma, dbeta,
                        dres, s);
  const auto dx1 = get<T>(dx), dres1 = get<T>(dres), dg1 = get<T>(dgamma), db1 = get<T>(dbeta);
  k::batchnorm_backward(x, y, dy, gamma, mean, invstd, k::BnActivation::Relu, dx, dgamma, dbeta,
                        dres, s);
  const auto dg2 = get<T>(dgamma), db2 = get<T>(dbeta);
  for (int64_t c = 0; c < in.channels; ++c) {
    CHECK(dg2[c] == 2 * dg1[c]);  // g + g is exact
    CHECK(db2[c] == 2 * db1[c]);
  }
  CHECK(get<T>(dx) == dx1);
  CHECK(get<T>(dres) == dres1);

  SECTION("dx and dresidual may overwrite dy") {
    Tensor dy2 = t(in.dy, in.shape), dy3 = t(in.dy, in.shape);
    k::batchnorm_backward(x, y, dy2, gamma, mean, invstd, k::BnActivation::Relu, dy2, dgamma, dbeta,
                          dres, s);
    CHECK(get<T>(dy2) == dx1);
    k::batchnorm_backward(x, y, dy3, gamma, mean, invstd, k::BnActivation::Relu, dx, dgamma, dbeta,
                          dy3, s);
    CHECK(get<T>(dy3) == dres1);
    CHECK(get<T>(dx) == dx1);
  }
}

TEST_CASE("batchnorm ops refuse bad arguments, naming the op and the shapes", "[kernels]") {
  const Stream& s = Stream::cpu();
  Tensor x = Tensor::zeros(Shape{2, 3, 3, 4}, DType::F32, kCpu, s);
  Tensor y = Tensor::zeros(Shape{2, 3, 3, 4}, DType::F32, kCpu, s);
  Tensor c4 = Tensor::zeros(Shape{4}, DType::F32, kCpu, s);
  Tensor c4b = Tensor::zeros(Shape{4}, DType::F32, kCpu, s);
  Tensor c5 = Tensor::zeros(Shape{5}, DType::F32, kCpu, s);
  Tensor c4d = Tensor::zeros(Shape{4}, DType::F64, kCpu, s);
  const auto none = k::BnActivation::None;

  CHECK_THROWS_WITH(k::batchnorm_forward_train(x, c5, c4, c4, c4, {}, none, y, s),
                    Catch::Contains("batchnorm_forward_train") && Catch::Contains("gamma") &&
                        Catch::Contains("f32[5]") && Catch::Contains("[2, 3, 3, 4]"));
  Tensor flat = Tensor::zeros(Shape{18, 4}, DType::F32, kCpu, s);
  CHECK_THROWS_WITH(
      k::batchnorm_stats(flat, c4, c4b, 1e-5, s),
      Catch::Contains("batchnorm_stats") && Catch::Contains("NHWC") && Catch::Contains("[18, 4]"));
  CHECK_THROWS_WITH(k::batchnorm_stats(x, c4d, c4b, 1e-5, s), Catch::Contains("batchnorm_stats") &&
                                                                  Catch::Contains("f64[4]") &&
                                                                  Catch::Contains("f32[4]"));
  Tensor xi = Tensor::zeros(Shape{2, 3, 3, 4}, DType::I32, kCpu, s);
  CHECK_THROWS_WITH(k::batchnorm_stats(xi, c4, c4b, 1e-5, s),
                    Catch::Contains("batchnorm_stats") && Catch::Contains("unsupported dtype i32"));
  Tensor y_wrong = Tensor::zeros(Shape{2, 3, 3, 5}, DType::F32, kCpu, s);
  CHECK_THROWS_WITH(
      k::batchnorm_forward_infer(x, c4, c4, c4, c4b, 1e-5, {}, none, y_wrong, s),
      Catch::Contains("batchnorm_forward_infer") && Catch::Contains("y f32[2, 3, 3, 5]"));
  Tensor one = Tensor::zeros(Shape{1, 1, 1, 4}, DType::F32, kCpu, s);
  CHECK_THROWS_WITH(k::batchnorm_stats(one, c4, c4b, 1e-5, s),
                    Catch::Contains("more than one value per channel"));
  CHECK_THROWS_WITH(k::batchnorm_update_running(c4, c4b, 1e-5, 1, 0.1, c4d, c4d, s),
                    Catch::Contains("batchnorm_update_running"));
  CHECK_THROWS_WITH(k::batchnorm_update_running(c4, c4b, 1e-5, 1, 0.1, c5, c5, s),
                    Catch::Contains("running_mean f32[5]"));
  CHECK_THROWS_WITH(k::batchnorm_update_running(c4, c4b, 1e-5, 1, 0.1, x, y, s),
                    Catch::Contains("running_mean"));
  Tensor r1 = Tensor::zeros(Shape{4}, DType::F32, kCpu, s),
         r2 = Tensor::zeros(Shape{4}, DType::F32, kCpu, s);
  CHECK_THROWS_WITH(k::batchnorm_update_running(c4, c4b, 1e-5, 1, 0.1, r1, r2, s),
                    Catch::Contains("count 1"));
  CHECK_THROWS_WITH(k::batchnorm_update_running(c4, c4b, 1e-5, 8, 1.5, r1, r2, s),
                    Catch::Contains("momentum 1.5"));
  Tensor acc_bad = Tensor::zeros(Shape{2, 4}, DType::F32, kCpu, s);
  CHECK_THROWS_WITH(k::batchnorm_accumulate_stats(c4, c4b, 1e-5, 8, acc_bad, s),
                    Catch::Contains("batchnorm_accumulate_stats") && Catch::Contains("f32[2, 4]"));
  CHECK_THROWS_WITH(k::batchnorm_apply_deferred(acc_bad, 0.1, r1, r2, s),
                    Catch::Contains("batchnorm_apply_deferred") && Catch::Contains("[3, C]"));
  CHECK_THROWS_WITH(
      k::batchnorm_backward(x, {}, y, c4, c4, c4b, k::BnActivation::Relu, y, r1, r2, {}, s),
      Catch::Contains("batchnorm_backward") && Catch::Contains("saved output y"));
  Tensor dx = Tensor::zeros(Shape{2, 3, 3, 4}, DType::F32, kCpu, s);
  CHECK_THROWS_WITH(k::batchnorm_backward(x, {}, y, c4, c4, c4b, none, dx, r1, r2, dx, s),
                    Catch::Contains("dx") && Catch::Contains("must not alias"));
  CHECK_THROWS_WITH(k::batchnorm_stats(x, c4, c4b, -1.0, s), Catch::Contains("eps -1"));
}

#if AUGUR_WITH_CUDA  // a build without the toolkit has no kernels::cuda:: implementations
TEST_CASE("the CUDA batchnorm ops check their arguments before touching a device", "[kernels]") {
  // f64 is a CPU-reference type; the CUDA versions refuse it (and everything the CPU refuses)
  // with the same messages, before any launch, so this runs without a GPU.
  const Stream& s = Stream::cpu();
  Tensor x = Tensor::zeros(Shape{2, 3, 3, 4}, DType::F64, kCpu, s);
  Tensor c4 = Tensor::zeros(Shape{4}, DType::F64, kCpu, s);
  Tensor c4b = Tensor::zeros(Shape{4}, DType::F64, kCpu, s);
  CHECK_THROWS_WITH(k::cuda::batchnorm_stats(x, c4, c4b, 1e-5, s),
                    Catch::Contains("batchnorm_stats") && Catch::Contains("expected f32"));
  Tensor xf = Tensor::zeros(Shape{2, 3, 3, 4}, DType::F32, kCpu, s);
  Tensor c3 = Tensor::zeros(Shape{3}, DType::F32, kCpu, s);
  CHECK_THROWS_WITH(
      k::cuda::batchnorm_forward_train(xf, c3, c3, c3, c3, {}, k::BnActivation::None, xf, s),
      Catch::Contains("batchnorm_forward_train") && Catch::Contains("gamma f32[3]"));
}
#endif
