#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/softmax_xent.h"
#include "tests/support/close.h"
#include "tests/support/gpu.h"
#include "tests/support/grad_check.h"
#include "tests/support/random.h"
#include "tests/support/tensors.h"

using namespace augur;
using namespace augur::test;
namespace k = augur::kernels;

namespace {

const Device kCpu = Device::cpu();

struct XentResult {
  double loss = 0;
  std::vector<double> grad;
};

// Runs the fused op on the CPU in the dtype of T.
template <class T>
XentResult run_cpu(const std::vector<T>& z, const std::vector<int64_t>& y, int64_t classes,
                   double eps) {
  const Stream& s = Stream::cpu();
  const int64_t n = static_cast<int64_t>(y.size());
  Tensor logits = make_tensor(z, Shape{n, classes}, kCpu, s);
  Tensor labels = make_tensor(y, Shape{n}, kCpu, s);
  Tensor loss = Tensor::empty(Shape{1}, dtype_of<T>(), kCpu);
  Tensor grad = Tensor::empty(Shape{n, classes}, dtype_of<T>(), kCpu);
  k::softmax_xent_forward_backward(logits, labels, loss, grad, eps, s);
  XentResult r;
  r.loss = static_cast<double>(to_vector<T>(loss, s)[0]);
  for (T g : to_vector<T>(grad, s)) r.grad.push_back(static_cast<double>(g));
  return r;
}

// Tolerances for two f32 implementations of the batch-mean loss and its gradient, derived
// from the logits (notation of kernels/softmax_xent_math.h: d = z - max, s = sum exp(d)).
// Per side and row:
//   log s: s's relative error, i.e. the summation's (lambda sqrt(C) u, the terms being
//          positive) plus the exps' own (CUDA's expf: <= 2 ulp, so <= 4u), then log's
//          rounding (<= 2u |log s|);
//   (1 - eps) d_y: two roundings (2u |d_y|);
//   smoothing: eps / C times sum_j d_j's summation error (lambda sqrt(C) u sum_j |d_j|),
//          plus two roundings (2u eps mean|d|);
//   the two subtractions: 2u times the sum of the magnitudes.
// The batch mean adds its own summation error (lambda sqrt(N) u mean|loss|) and a rounding.
// Gradient: (p_j - t_j) / N with p_j = exp(d_j) / s carrying s's relative error plus the
// exp's and the division's (< 6u), and t_j one rounding; p_j, t_j <= 1: the summation bound
// with 3 as the sum of terms, divided by N.
struct XentTolerance {
  Tolerance loss, grad;
};
XentTolerance xent_tolerance(const std::vector<float>& z, const std::vector<int64_t>& y,
                             int64_t classes, double eps) {
  constexpr double kLambda = 6;
  const double u = dtype_unit_roundoff(DType::F32);
  const int64_t n = static_cast<int64_t>(y.size());
  double worst_row = 0, sum_abs_loss = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* zi = z.data() + i * classes;
    const double m = *std::max_element(zi, zi + classes);
    double sum_exp = 0, mean_abs_d = 0;
    for (int64_t j = 0; j < classes; ++j) {
      sum_exp += std::exp(zi[j] - m);
      mean_abs_d += std::fabs(zi[j] - m) / classes;
    }
    const double log_s = std::log(sum_exp), dy = std::fabs(zi[y[i]] - m);
    const double one_side = kLambda * std::sqrt(double(classes)) * u * (1 + eps * mean_abs_d) +
                            4 * u + 4 * u * (log_s + dy + eps * mean_abs_d);
    worst_row = std::max(worst_row, 2 * one_side);
    sum_abs_loss += log_s + (1 - eps) * dy + eps * mean_abs_d;
  }
  XentTolerance t;
  t.loss = derived_tolerance(DType::F32, n, sum_abs_loss);
  t.loss.abs = t.loss.abs / n + worst_row;
  t.grad = derived_tolerance(DType::F32, classes, 3.0);
  t.grad.abs /= n;
  return t;
}

std::vector<int64_t> random_labels(int64_t n, int64_t classes, uint64_t seed) {
  Rng rng(seed);
  std::vector<int64_t> y(static_cast<size_t>(n));
  for (auto& v : y) v = static_cast<int64_t>(rng.next_u64() % static_cast<uint64_t>(classes));
  return y;
}

}  // namespace

TEST_CASE("softmax cross-entropy on two hand-computed rows", "[kernels][xent]") {
  // Row 0: z = (1, 2, 3), label 2. log-sum-exp = 3 + log(1 + e^-1 + e^-2)
  //   = 3 + log(1.5032147244080551) = 3.4076059644443801; loss = lse - 3 = 0.4076059644443801.
  //   softmax = (e^-2, e^-1, 1) / 1.5032147244080551
  //           = (0.0900305731703805, 0.2447284710547976, 0.6652409557748218).
  // Row 1: z = (0, 0, 0), label 0: softmax = 1/3 each, loss = log 3 = 1.0986122886681098.
  // Mean loss (0.4076059644443801 + 1.0986122886681098) / 2 = 0.7531091265562450.
  // dlogits = (softmax - onehot) / 2.
  const std::vector<double> z = {1, 2, 3, 0, 0, 0};
  const std::vector<int64_t> y = {2, 0};
  const std::vector<double> grad = {
      0.0450152865851902, 0.1223642355273988, -0.1673795221125891, -1.0 / 3, 1.0 / 6, 1.0 / 6};
  for (bool f64 : {true, false}) {
    INFO((f64 ? "f64" : "f32"));
    const XentResult r =
        f64 ? run_cpu(z, y, 3, 0.0) : run_cpu(std::vector<float>(z.begin(), z.end()), y, 3, 0.0);
    const DType t = f64 ? DType::F64 : DType::F32;
    const Tolerance tol{1e-12 + derived_tolerance(t, 3, 4.0).abs, 2 * dtype_unit_roundoff(t)};
    AUGUR_CHECK_CLOSE(std::vector<double>{r.loss}, std::vector<double>{0.7531091265562450}, tol);
    AUGUR_CHECK_CLOSE(r.grad, grad, tol);
  }
}

TEST_CASE("softmax cross-entropy with label smoothing, by hand", "[kernels][xent]") {
  // eps = 0.1, 3 classes: target = 0.9 onehot + 0.1 / 3.
  // Row 0 (z = 1, 2, 3; label 2): loss = lse - sum_j t_j z_j = lse - (0.9 * 3 + 0.1 * mean z)
  //   = 3.4076059644443801 - 2.9 = 0.5076059644443801.
  // Row 1 (z = 0, 0, 0; label 0): any target sums to 1, loss = log 3 = 1.0986122886681098.
  // Mean: 0.8031091265562450. Gradient (softmax - target) / 2:
  //   row 0: (0.0900305731703805 - 0.0333333333333333, 0.2447284710547976 - 0.0333333333333333,
  //           0.6652409557748218 - 0.9333333333333333) / 2
  //   row 1: (1/3 - 0.9333333333333333, 1/3 - 1/30, 1/3 - 1/30) / 2 = (-0.3, 0.15, 0.15)
  const std::vector<double> z = {1, 2, 3, 0, 0, 0};
  const XentResult r = run_cpu(z, {2, 0}, 3, 0.1);
  const std::vector<double> grad = {
      0.0283486199185236, 0.1056975688607322, -0.1340461887792558, -0.3, 0.15, 0.15};
  const Tolerance tol{1e-12, 0};
  AUGUR_CHECK_CLOSE(std::vector<double>{r.loss}, std::vector<double>{0.8031091265562450}, tol);
  AUGUR_CHECK_CLOSE(r.grad, grad, tol);

  // The loss-only variant agrees with the fused one.
  const Stream& s = Stream::cpu();
  Tensor logits = make_tensor(z, Shape{2, 3}, kCpu, s);
  Tensor labels = make_tensor<int64_t>({2, 0}, Shape{2}, kCpu, s);
  Tensor loss = Tensor::empty(Shape{1}, DType::F64, kCpu);
  k::softmax_xent_loss(logits, labels, loss, 0.1, s);
  CHECK(to_vector<double>(loss, s)[0] == r.loss);
}

TEST_CASE("softmax cross-entropy gradient check in double precision", "[kernels][xent]") {
  const Stream& s = Stream::cpu();
  const int64_t n = 4, classes = 7;
  const auto z = random_doubles(n * classes, 31, -3, 3);
  const auto y = random_labels(n, classes, 32);
  Tensor labels = make_tensor(y, Shape{n}, kCpu, s);
  Tensor loss = Tensor::empty(Shape{1}, DType::F64, kCpu);
  for (double eps : {0.0, 0.2, 1.0}) {
    INFO("label smoothing " << eps);
    const auto f = [&](const std::vector<double>& v) {
      Tensor logits = make_tensor(v, Shape{n, classes}, kCpu, s);
      k::softmax_xent_loss(logits, labels, loss, eps, s);
      return to_vector<double>(loss, s)[0];
    };
    const XentResult r = run_cpu(z, y, classes, eps);
    AUGUR_CHECK_GRADIENT(check_gradient(f, z, r.grad));
  }
}

TEST_CASE("softmax cross-entropy stays finite and exact for logits of magnitude 1e4",
          "[kernels][xent]") {
  // Row 0: z = (1e4, -1e4, 0, 9999), label 0: s = 1 + e^-1 (+ underflowing terms), loss =
  //   log(1 + e^-1) = 0.31326168751822286. Row 1: same logits, label 3: loss = 1.31326168751822286.
  // Mean 0.81326168751822286. Softmax = (1/(1+e^-1), 0, 0, e^-1/(1+e^-1))
  //   = (0.7310585786300049, 0, 0, 0.2689414213699951).
  const std::vector<float> z = {1e4f, -1e4f, 0.f, 9999.f, 1e4f, -1e4f, 0.f, 9999.f};
  const std::vector<int64_t> y = {0, 3};
  for (double eps : {0.0, 0.1}) {
    INFO("label smoothing " << eps);
    const XentResult r = run_cpu(z, y, 4, eps);
    CHECK(std::isfinite(r.loss));
    for (double g : r.grad) CHECK(std::isfinite(g));
    if (eps == 0.0) {
      const XentTolerance tol = xent_tolerance(z, y, 4, eps);
      AUGUR_CHECK_CLOSE(std::vector<double>{r.loss}, std::vector<double>{0.81326168751822286},
                        tol.loss);
      const double p0 = 0.7310585786300049, p3 = 0.2689414213699951;
      AUGUR_CHECK_CLOSE(
          r.grad, (std::vector<double>{(p0 - 1) / 2, 0, 0, p3 / 2, p0 / 2, 0, 0, (p3 - 1) / 2}),
          tol.grad);
    }
  }
  // All logits hugely negative: still a finite loss (log 4 for equal logits).
  const XentResult r = run_cpu(std::vector<float>(4, -3e4f), {1}, 4, 0.0);
  CHECK(r.loss == Approx(std::log(4.0)).epsilon(1e-6));
}

TEST_CASE("softmax cross-entropy in f32 matches f64 within the derived tolerance",
          "[kernels][xent]") {
  for (int64_t classes : {10, 1000}) {
    INFO("classes " << classes);
    const int64_t n = 33;
    const auto z = random_floats(n * classes, 40 + classes, -8, 8);
    const auto y = random_labels(n, classes, 41);
    for (double eps : {0.0, 0.1}) {
      const XentResult r32 = run_cpu(z, y, classes, eps);
      const XentResult r64 = run_cpu(std::vector<double>(z.begin(), z.end()), y, classes, eps);
      const XentTolerance tol = xent_tolerance(z, y, classes, eps);
      AUGUR_CHECK_CLOSE(std::vector<double>{r32.loss}, std::vector<double>{r64.loss}, tol.loss);
      AUGUR_CHECK_CLOSE(r32.grad, r64.grad, tol.grad);
    }
  }
}

TEST_CASE("softmax cross-entropy may write its gradient over the logits", "[kernels][xent]") {
  const Stream& s = Stream::cpu();
  const auto z = random_floats(5 * 9, 50, -2, 2);
  const std::vector<int64_t> y = {0, 8, 3, 3, 1};
  const XentResult expected = run_cpu(z, y, 9, 0.1);
  Tensor logits = make_tensor(z, Shape{5, 9}, kCpu, s);
  Tensor labels = make_tensor(y, Shape{5}, kCpu, s);
  Tensor loss = Tensor::empty(Shape{1}, DType::F32, kCpu);
  k::softmax_xent_forward_backward(logits, labels, loss, logits, 0.1, s);
  CHECK(to_vector<float>(loss, s)[0] == static_cast<float>(expected.loss));
  const auto g = to_vector<float>(logits, s);
  CHECK(std::vector<double>(g.begin(), g.end()) == expected.grad);
}

TEST_CASE("softmax cross-entropy rejects bad labels, shapes and dtypes", "[kernels][xent]") {
  const Stream& s = Stream::cpu();
  Tensor logits = Tensor::zeros(Shape{3, 4}, DType::F32, kCpu, s);
  Tensor grad = Tensor::zeros(Shape{3, 4}, DType::F32, kCpu, s);
  Tensor loss = Tensor::zeros(Shape{1}, DType::F32, kCpu, s);
  Tensor bad = make_tensor<int64_t>({0, 4, 1}, Shape{3}, kCpu, s);
  Tensor negative = make_tensor<int64_t>({0, 1, -2}, Shape{3}, kCpu, s);
  Tensor ok = make_tensor<int64_t>({0, 3, 1}, Shape{3}, kCpu, s);
  CHECK_THROWS_WITH(k::softmax_xent_forward_backward(logits, bad, loss, grad, 0.0, s),
                    Catch::Contains("label 4 of sample 1 is out of range [0, 4)"));
  CHECK_THROWS_WITH(k::softmax_xent_loss(logits, negative, loss, 0.0, s),
                    Catch::Contains("softmax_xent_loss: label -2 of sample 2"));
  Tensor short_labels = make_tensor<int64_t>({0, 1}, Shape{2}, kCpu, s);
  CHECK_THROWS_WITH(k::softmax_xent_loss(logits, short_labels, loss, 0.0, s),
                    Catch::Contains("i64[3]") && Catch::Contains("[3, 4]"));
  Tensor i32_labels = Tensor::zeros(Shape{3}, DType::I32, kCpu, s);
  CHECK_THROWS_WITH(k::softmax_xent_loss(logits, i32_labels, loss, 0.0, s),
                    Catch::Contains("labels i32[3]"));
  Tensor grad_t = Tensor::zeros(Shape{4, 3}, DType::F32, kCpu, s);
  CHECK_THROWS_WITH(k::softmax_xent_forward_backward(logits, ok, loss, grad_t, 0.0, s),
                    Catch::Contains("dlogits f32[4, 3]"));
  Tensor loss2 = Tensor::zeros(Shape{2}, DType::F32, kCpu, s);
  CHECK_THROWS_WITH(k::softmax_xent_loss(logits, ok, loss2, 0.0, s),
                    Catch::Contains("loss f32[2]"));
  Tensor loss64 = Tensor::zeros(Shape{1}, DType::F64, kCpu, s);
  CHECK_THROWS_WITH(k::softmax_xent_loss(logits, ok, loss64, 0.0, s),
                    Catch::Contains("the logits' dtype f32"));
  Tensor int_logits = Tensor::zeros(Shape{3, 4}, DType::I32, kCpu, s);
  CHECK_THROWS_WITH(k::softmax_xent_loss(int_logits, ok, loss, 0.0, s),
                    Catch::Contains("unsupported dtype i32"));
  CHECK_THROWS_WITH(k::softmax_xent_loss(logits, ok, loss, 1.5, s),
                    Catch::Contains("label smoothing 1.5"));
  CHECK_THROWS_WITH(k::softmax_xent_forward_backward(logits, ok, loss, TensorView(), 0.0, s),
                    Catch::Contains("dlogits is empty"));
}

// ---------------------------------------------------------------------------------------------

TEST_CASE("gpu: softmax cross-entropy matches the CPU reference", "[gpu][kernels][xent]") {
  AUGUR_REQUIRE_GPU();
  const Stream& cs = Stream::cpu();
  Stream gs = Stream::create(Device::cuda(0));
  const Device gpu = Device::cuda(0);
  struct Case {
    int64_t n, classes;
    float scale;
  };
  uint64_t seed = 500;
  for (const Case c : {Case{1, 10, 4}, Case{256, 1000, 8}, Case{37, 10, 4}, Case{5, 1000, 1e4},
                       Case{3, 2, 1}, Case{2, 65, 4}, Case{7, 513, 4}}) {
    for (double eps : {0.0, 0.1}) {
      INFO("[" << c.n << ", " << c.classes << "] scale " << c.scale << ", smoothing " << eps);
      const auto z = random_floats(c.n * c.classes, ++seed, -c.scale, c.scale);
      const auto y = random_labels(c.n, c.classes, ++seed);
      const Shape zs{c.n, c.classes};
      Tensor logits = make_tensor(z, zs, kCpu, cs), logits_d = make_tensor(z, zs, gpu, gs);
      Tensor labels = make_tensor(y, Shape{c.n}, kCpu, cs);
      Tensor labels_d = make_tensor(y, Shape{c.n}, gpu, gs);
      Tensor loss = Tensor::empty(Shape{1}, DType::F32, kCpu);
      Tensor loss_d = Tensor::empty(Shape{1}, DType::F32, gpu, &gs);
      Tensor grad = Tensor::empty(zs, DType::F32, kCpu);
      Tensor grad_d = Tensor::empty(zs, DType::F32, gpu, &gs);
      k::softmax_xent_forward_backward(logits, labels, loss, grad, eps, cs);
      k::softmax_xent_forward_backward(logits_d, labels_d, loss_d, grad_d, eps, gs);
      const XentTolerance tol = xent_tolerance(z, y, c.classes, eps);
      AUGUR_CHECK_CLOSE(to_vector<float>(loss_d, gs), to_vector<float>(loss, cs), tol.loss);
      AUGUR_CHECK_CLOSE(to_vector<float>(grad_d, gs), to_vector<float>(grad, cs), tol.grad);
      // The loss-only variant computes the same loss.
      Tensor eval_d = Tensor::empty(Shape{1}, DType::F32, gpu, &gs);
      k::softmax_xent_loss(logits_d, labels_d, eval_d, eps, gs);
      CHECK(to_vector<float>(eval_d, gs) == to_vector<float>(loss_d, gs));
      for (float g : to_vector<float>(grad_d, gs)) CHECK(std::isfinite(g));
    }
  }
}

TEST_CASE("gpu: softmax cross-entropy reports an out-of-range label by sample and value",
          "[gpu][kernels][xent]") {
  AUGUR_REQUIRE_GPU();
  Stream gs = Stream::create(Device::cuda(0));
  const Device gpu = Device::cuda(0);
  Tensor logits = Tensor::zeros(Shape{300, 10}, DType::F32, gpu, gs);
  Tensor grad = Tensor::zeros(Shape{300, 10}, DType::F32, gpu, gs);
  Tensor loss = Tensor::zeros(Shape{1}, DType::F32, gpu, gs);
  std::vector<int64_t> y(300, 3);
  y[290] = -1;  // the later bad label must not hide the first one
  y[257] = 10;
  Tensor labels = make_tensor(y, Shape{300}, gpu, gs);
  CHECK_THROWS_WITH(k::softmax_xent_forward_backward(logits, labels, loss, grad, 0.0, gs),
                    Catch::Contains("label 10 of sample 257 is out of range [0, 10)"));
  CHECK_THROWS_WITH(k::softmax_xent_loss(logits, labels, loss, 0.0, gs),
                    Catch::Contains("softmax_xent_loss: label 10 of sample 257"));
  // A good batch afterwards runs normally.
  Tensor good = make_tensor(std::vector<int64_t>(300, 3), Shape{300}, gpu, gs);
  k::softmax_xent_loss(logits, good, loss, 0.0, gs);
  CHECK(to_vector<float>(loss, gs)[0] == Approx(std::log(10.0)).epsilon(1e-6));
}
