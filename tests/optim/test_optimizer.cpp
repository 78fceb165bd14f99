// SGD and AdamW against sequences derived by hand (PyTorch's update rules, a few steps on a
// few parameters), including the weight-decay exclusions and the first momentum step.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "optim/optimizer.h"
#include "tests/support/close.h"
#include "tests/support/tensors.h"

using namespace augur;
using namespace augur::optim;
using augur::test::make_tensor;
using augur::test::to_vector;
using augur::test::tolerance_for;

namespace {

template <class T>
void set(const TensorView& v, const std::vector<double>& values) {
  T* p = v.data<T>();
  for (size_t i = 0; i < values.size(); ++i) p[i] = static_cast<T>(values[i]);
}

template <class T>
std::vector<double> get(const TensorView& v) {
  const T* p = v.data<T>();
  return std::vector<double>(p, p + v.numel());
}

OptimizerConfig sgd(double momentum, double wd, bool nesterov = false) {
  OptimizerConfig c;
  c.sgd.momentum = momentum;
  c.sgd.weight_decay = wd;
  c.sgd.nesterov = nesterov;
  return c;
}

// A few roundings per step on values of order `magnitude`.
test::Tolerance tol(DType t, int steps, double magnitude) {
  return tolerance_for(t, 6 * steps, magnitude);
}

}  // namespace

TEST_CASE("plain SGD on hand-computed steps", "[optim][sgd]") {
  const Stream& s = Stream::cpu();
  Optimizer opt(sgd(0, 0), LrSchedule::constant(0.1), DecayMask::all(3), Device::cpu(), s);
  CHECK(opt.config().state_arenas() == 0);
  CHECK(opt.state(0).empty());
  Tensor w = make_tensor<float>({1.f, -2.f, 0.5f}, Shape{3}, Device::cpu(), s);
  Tensor g = make_tensor<float>({0.5f, 1.f, -1.f}, Shape{3}, Device::cpu(), s);
  opt.step(w, g, s);
  // w - 0.1 g
  AUGUR_CHECK_CLOSE(get<float>(w), std::vector<double>({0.95, -2.1, 0.6}), tol(DType::F32, 1, 2));
  CHECK(get<float>(g) == std::vector<double>({0, 0, 0}));  // the step zeroes the gradients
  set<float>(g, {0.25, -0.5, 2});
  opt.step(w, g, s);
  AUGUR_CHECK_CLOSE(get<float>(w), std::vector<double>({0.925, -2.05, 0.4}), tol(DType::F32, 2, 2));
  CHECK(opt.steps_done() == 2);
}

TEMPLATE_TEST_CASE("momentum SGD with weight decay and an excluded parameter", "[optim][sgd]",
                   float, double) {
  const Stream& s = Stream::cpu();
  const DType dt = dtype_of<TestType>();
  // Elements 0 and 1 decay, element 2 (a BatchNorm bias, say) does not.
  const DecayMask mask(3, {{0, 2, true}, {2, 1, false}});
  Optimizer opt(sgd(0.9, 0.1), LrSchedule::constant(0.1), mask, Device::cpu(), s, dt);
  // Whatever the state arena holds before the first step is never read: v starts as g.
  std::fill(opt.state(0).data<TestType>(), opt.state(0).data<TestType>() + 3,
            std::numeric_limits<TestType>::quiet_NaN());
  Tensor w = make_tensor<TestType>({1, -2, 0.5}, Shape{3}, Device::cpu(), s);
  Tensor g = make_tensor<TestType>({0.5, 1, -1}, Shape{3}, Device::cpu(), s);
  // Step 1: d = g + 0.1 w = (0.6, 0.8, -1) (no decay on element 2); v = d; w -= 0.1 v.
  opt.step(w, g, s);
  AUGUR_CHECK_CLOSE(get<TestType>(opt.state(0)), std::vector<double>({0.6, 0.8, -1.0}),
                    tol(dt, 1, 2));
  AUGUR_CHECK_CLOSE(get<TestType>(w), std::vector<double>({0.94, -2.08, 0.6}), tol(dt, 1, 2));
  // Step 2, same g: d = (0.594, 0.792, -1); v = 0.9 v + d = (1.134, 1.512, -1.9).
  set<TestType>(g, {0.5, 1, -1});
  opt.step(w, g, s);
  AUGUR_CHECK_CLOSE(get<TestType>(opt.state(0)), std::vector<double>({1.134, 1.512, -1.9}),
                    tol(dt, 2, 3));
  AUGUR_CHECK_CLOSE(get<TestType>(w), std::vector<double>({0.8266, -2.2312, 0.79}), tol(dt, 2, 3));
  // Step 3, zero gradient: only decay and momentum: d = (0.08266, -0.22312, 0).
  opt.step(w, g, s);
  AUGUR_CHECK_CLOSE(get<TestType>(opt.state(0)), std::vector<double>({1.10326, 1.13768, -1.71}),
                    tol(dt, 3, 3));
  AUGUR_CHECK_CLOSE(get<TestType>(w), std::vector<double>({0.716274, -2.344968, 0.961}),
                    tol(dt, 3, 3));
}

TEST_CASE("Nesterov SGD on hand-computed steps", "[optim][sgd]") {
  const Stream& s = Stream::cpu();
  Optimizer opt(sgd(0.9, 0, true), LrSchedule::constant(0.1), DecayMask::all(1), Device::cpu(), s);
  Tensor w = make_tensor<float>({1.f}, Shape{1}, Device::cpu(), s);
  Tensor g = make_tensor<float>({1.f}, Shape{1}, Device::cpu(), s);
  // v = 1, w -= 0.1 (1 + 0.9*1) -> 0.81; then v = 1.9, w -= 0.1 (1 + 0.9*1.9) -> 0.539.
  opt.step(w, g, s);
  AUGUR_CHECK_CLOSE(get<float>(w), std::vector<double>{0.81}, tol(DType::F32, 1, 2));
  set<float>(g, {1});
  opt.step(w, g, s);
  AUGUR_CHECK_CLOSE(get<float>(w), std::vector<double>{0.539}, tol(DType::F32, 2, 3));
  AUGUR_CHECK_CLOSE(get<float>(opt.state(0)), std::vector<double>{1.9}, tol(DType::F32, 2, 3));
}

TEST_CASE("each step uses its scheduled learning rate", "[optim][sgd][schedule]") {
  const Stream& s = Stream::cpu();
  LrScheduleConfig c;
  c.base_lr = 0.1;
  c.decay = LrDecay::MultiStep;
  c.milestones = {1};
  Optimizer opt(sgd(0, 0), LrSchedule(c), DecayMask::all(1), Device::cpu(), s, DType::F64);
  Tensor w = make_tensor<double>({1}, Shape{1}, Device::cpu(), s);
  Tensor g = make_tensor<double>({1}, Shape{1}, Device::cpu(), s);
  CHECK(opt.next_lr() == 0.1);
  opt.step(w, g, s);
  set<double>(g, {1});
  AUGUR_CHECK_CLOSE(std::vector<double>{opt.next_lr()}, std::vector<double>{0.01},
                    tol(DType::F64, 1, 1));
  opt.step(w, g, s);
  AUGUR_CHECK_CLOSE(get<double>(w), std::vector<double>{0.89}, tol(DType::F64, 2, 1));
}

TEMPLATE_TEST_CASE("AdamW with decoupled decay, bias correction and an excluded parameter",
                   "[optim][adamw]", float, double) {
  const Stream& s = Stream::cpu();
  const DType dt = dtype_of<TestType>();
  OptimizerConfig c;
  c.kind = OptimizerKind::AdamW;
  c.adamw.weight_decay = 0.1;
  const double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  Optimizer opt(c, LrSchedule::constant(lr), DecayMask(2, {{1, 1, false}}), Device::cpu(), s, dt);
  CHECK(opt.config().state_arenas() == 2);
  for (int i = 0; i < 2; ++i)
    std::fill(opt.state(i).data<TestType>(), opt.state(i).data<TestType>() + 2,
              std::numeric_limits<TestType>::quiet_NaN());
  Tensor w = make_tensor<TestType>({1.0, -0.5}, Shape{2}, Device::cpu(), s);
  Tensor g = make_tensor<TestType>({0.2, -0.1}, Shape{2}, Device::cpu(), s);
  // Step 1: the bias-corrected moments are g and g^2, so the step is lr * g / (|g| + eps):
  // w0 = 1 * (1 - 0.01) - 0.1 * 0.2 / 0.20000001, w1 = -0.5 + 0.1 * 0.1 / 0.10000001.
  opt.step(w, g, s);
  std::vector<double> W = {0.99 - 0.1 * 0.2 / (0.2 + eps), -0.5 + 0.1 * 0.1 / (0.1 + eps)};
  AUGUR_CHECK_CLOSE(get<TestType>(w), W, tol(dt, 1, 1));
  std::vector<double> m = {0.1 * 0.2, 0.1 * -0.1}, v = {0.001 * 0.04, 0.001 * 0.01};
  AUGUR_CHECK_CLOSE(get<TestType>(opt.state(0)), m, tol(dt, 1, 1));
  AUGUR_CHECK_CLOSE(get<TestType>(opt.state(1)), v, tol(dt, 1, 1));
  // Step 2 with g = (-0.4, 0.3), written out from the update rule.
  set<TestType>(g, {-0.4, 0.3});
  opt.step(w, g, s);
  const double gs[2] = {-0.4, 0.3};
  const double bc1 = 1 - b1 * b1, bc2 = 1 - b2 * b2;
  for (int i = 0; i < 2; ++i) {
    m[i] = b1 * m[i] + (1 - b1) * gs[i];
    v[i] = b2 * v[i] + (1 - b2) * gs[i] * gs[i];
    const double decayed = i == 0 ? W[i] * (1 - lr * 0.1) : W[i];
    W[i] = decayed - lr / bc1 * m[i] / (std::sqrt(v[i]) / std::sqrt(bc2) + eps);
  }
  AUGUR_CHECK_CLOSE(get<TestType>(opt.state(0)), m, tol(dt, 2, 1));
  AUGUR_CHECK_CLOSE(get<TestType>(opt.state(1)), v, tol(dt, 2, 1));
  // The step divides by sqrt(v) ~ 1e-2: the update of size ~0.1 carries its relative error.
  AUGUR_CHECK_CLOSE(get<TestType>(w), W, tol(dt, 2, 1));
}

TEST_CASE("the step can leave the gradients in place", "[optim][sgd]") {
  const Stream& s = Stream::cpu();
  Optimizer opt(sgd(0.9, 0), LrSchedule::constant(0.1), DecayMask::all(2), Device::cpu(), s);
  Tensor w = make_tensor<float>({1.f, 2.f}, Shape{2}, Device::cpu(), s);
  Tensor g = make_tensor<float>({3.f, 4.f}, Shape{2}, Device::cpu(), s);
  opt.step(w, g, s, nullptr, /*zero_grads=*/false);
  CHECK(get<float>(g) == std::vector<double>({3, 4}));
}

TEST_CASE("a stage without parameters steps and predicts without error", "[optim]") {
  const Stream& s = Stream::cpu();
  Optimizer opt(sgd(0.9, 0.1), LrSchedule::constant(0.1), DecayMask::all(0), Device::cpu(), s);
  Tensor w = Tensor::zeros(Shape{0}, DType::F32, Device::cpu(), s);
  Tensor g = Tensor::zeros(Shape{0}, DType::F32, Device::cpu(), s);
  Tensor p = Tensor::zeros(Shape{0}, DType::F32, Device::cpu(), s);
  PredictRequest r{Predictor::ConstantGradient, 2, p};
  opt.step(w, g, s, &r);
  opt.predict(w, g, r, s);
  CHECK(opt.steps_done() == 1);
}

TEST_CASE("decay masks merge ranges and refuse overlaps", "[optim][mask]") {
  const DecayMask m(20, {{12, 3, false}, {0, 5, true}, {5, 3, false}, {8, 4, false}});
  // Excluded [5, 8) and [8, 12) merge; [12, 15) joins them too.
  CHECK(m.excluded() == std::vector<int64_t>({5, 15}));
  CHECK(m.decays(4));
  CHECK(!m.decays(5));
  CHECK(!m.decays(14));
  CHECK(m.decays(15));
  CHECK(m.decays(19));  // not covered by any range: decays
  const DecayMask gaps(10, {{1, 1, false}, {3, 2, false}});
  CHECK(gaps.excluded() == std::vector<int64_t>({1, 2, 3, 5}));
  CHECK(DecayMask::all(4).excluded().empty());
  CHECK_THROWS_WITH(DecayMask(10, {{0, 5, true}, {4, 2, false}}), Catch::Contains("overlaps"));
  CHECK_THROWS_WITH(DecayMask(10, {{8, 5, false}}), Catch::Contains("outside the arena"));
}

TEST_CASE("optimizer configurations are validated", "[optim]") {
  const Stream& s = Stream::cpu();
  CHECK_THROWS_WITH(
      Optimizer(sgd(0, 0, true), LrSchedule::constant(0.1), DecayMask::all(1), Device::cpu(), s),
      Catch::Contains("Nesterov"));
  CHECK_THROWS_WITH(
      Optimizer(sgd(1.5, 0), LrSchedule::constant(0.1), DecayMask::all(1), Device::cpu(), s),
      Catch::Contains("momentum"));
  CHECK(parse_optimizer_kind("adamw") == OptimizerKind::AdamW);
  CHECK_THROWS_WITH(parse_optimizer_kind("lamb"), Catch::Contains("'lamb'"));
  Optimizer opt(sgd(0.9, 0), LrSchedule::constant(0.1), DecayMask::all(4), Device::cpu(), s);
  Tensor w = Tensor::zeros(Shape{3}, DType::F32, Device::cpu(), s);
  CHECK_THROWS_WITH(opt.step(w, w, s), Catch::Contains("not an arena of 4"));
}
