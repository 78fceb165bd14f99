// The staleness rules by stage (optim/staleness_rules.h) against hand-computed values: the
// stage momentum and its learning-rate scale, the bias correction, PipeMare's warm-up and the
// spike-compensation coefficients at s = 0, 1 and 7; a spike-compensated step by hand and as
// Nesterov at s = 1; and the predictors extrapolating with the stage's own momentum and rates.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "optim/optimizer.h"
#include "optim/staleness_rules.h"
#include "tests/support/close.h"
#include "tests/support/random.h"
#include "tests/support/tensors.h"

using namespace augur;
using namespace augur::optim;
using augur::test::make_tensor;
using augur::test::random_doubles;
using augur::test::tolerance_for;
using Catch::Contains;

namespace {

OptimizerConfig sgd(double momentum, double wd = 0) {
  OptimizerConfig c;
  c.sgd.momentum = momentum;
  c.sgd.weight_decay = wd;
  return c;
}

template <class T>
std::vector<double> get(const TensorView& v) {
  const T* p = v.data<T>();
  return std::vector<double>(p, p + v.numel());
}

template <class T>
void fill(const TensorView& v, const std::vector<double>& values) {
  T* p = v.data<T>();
  for (size_t i = 0; i < values.size(); ++i) p[i] = static_cast<T>(values[i]);
}

// Relative closeness of two doubles formed by a few operations each.
bool close(double a, double b) {
  return std::abs(a - b) <= 1e-14 * std::max(1.0, std::abs(b));
}

}  // namespace

TEST_CASE("stage momentum: mu_r = mu + s_r (mu_max - mu) / K, lr scaled by (1 - mu_r)/(1 - mu)",
          "[optim][staleness]") {
  StalenessRules rules;
  rules.momentum_max = 0.98;
  const LrSchedule lr = LrSchedule::constant(0.2);
  // K = 8, mu = 0.9: s = 7 gives 0.9 + 7 * 0.08 / 8 = 0.97 and a scale of 0.03 / 0.1 = 0.3;
  // s = 3 gives 0.93 and 0.7; the last stage (s = 0) is unchanged.
  const StageOptimizer s7 = stage_optimizer(sgd(0.9), lr, rules, 7, 8);
  CHECK(close(s7.config.sgd.momentum, 0.97));
  CHECK(close(s7.schedule.lr(0), 0.2 * 0.3));
  CHECK(close(s7.schedule.lr(1000), 0.2 * 0.3));
  const StageOptimizer s3 = stage_optimizer(sgd(0.9), lr, rules, 3, 8);
  CHECK(close(s3.config.sgd.momentum, 0.93));
  CHECK(close(s3.schedule.lr(5), 0.2 * 0.7));
  const StageOptimizer s0 = stage_optimizer(sgd(0.9), lr, rules, 0, 8);
  CHECK(s0.config.sgd.momentum == 0.9);
  CHECK(s0.schedule.lr(3) == 0.2);
  // The steady-state step lr_r / (1 - mu_r) is the base one, lr / (1 - mu) = 2.
  CHECK(close(s7.schedule.lr(9) / (1 - s7.config.sgd.momentum), 2.0));
}

TEST_CASE("bias correction: lr_r times 1 / (1 - mu_r^t) on step t", "[optim][staleness]") {
  StalenessRules rules;
  rules.bias_correction = true;
  const LrSchedule lr = LrSchedule::constant(0.1);
  const StageOptimizer a = stage_optimizer(sgd(0.9), lr, rules, 2, 4);
  CHECK(a.config.sgd.momentum == 0.9);
  // Step 1 (after 0 steps): 0.1 / (1 - 0.9) = 1; step 2: 0.1 / (1 - 0.81) = 0.1 / 0.19.
  CHECK(close(a.schedule.lr(0), 1.0));
  CHECK(close(a.schedule.lr(1), 0.1 / 0.19));
  CHECK(close(a.schedule.lr(2), 0.1 / (1 - 0.729)));
  // Far on, the correction vanishes.
  CHECK(std::abs(a.schedule.lr(2000) - 0.1) < 1e-15);
  // With the stage momentum the correction uses the stage's mu_r: K = 8, s = 7, mu_r = 0.97,
  // lr_r = 0.03 on top of which step 1 is 0.03 / 0.03 = 1, step 2 0.03 / (1 - 0.9409).
  rules.momentum_max = 0.98;
  const StageOptimizer b = stage_optimizer(sgd(0.9), lr, rules, 7, 8);
  CHECK(close(b.schedule.lr(0), 1.0));
  CHECK(close(b.schedule.lr(1), 0.03 / (1 - 0.97 * 0.97)));
}

TEST_CASE("relative bias correction: lr_r times (1 - mu^t) / (1 - mu_r^t)", "[optim][staleness]") {
  StalenessRules rules;
  rules.momentum_max = 0.98;
  rules.relative_bias_correction = true;
  const LrSchedule lr = LrSchedule::constant(0.1);
  // K = 8, s = 7: mu_r = 0.97, scale 0.3. Step 1: 0.03 * 0.1 / 0.03 = 0.1, the base's own
  // first step; step 2: 0.03 * 0.19 / (1 - 0.9409).
  const StageOptimizer a = stage_optimizer(sgd(0.9), lr, rules, 7, 8);
  CHECK(close(a.schedule.lr(0), 0.1));
  CHECK(close(a.schedule.lr(1), 0.03 * 0.19 / (1 - 0.97 * 0.97)));
  CHECK(std::abs(a.schedule.lr(3000) - 0.03) < 1e-15);
  // A stage at the base momentum is unchanged, bit for bit.
  const StageOptimizer b = stage_optimizer(sgd(0.9), lr, rules, 0, 8);
  for (int64_t t : {0, 1, 50}) CHECK(b.schedule.lr(t) == 0.1);
  // A constant gradient from rest: every step of the stage is the base's (lr_r(t) v_t with
  // v_t = sum_{j<t} mu_r^j equals 0.1 sum_{j<t} 0.9^j), so the trajectories coincide.
  double v = 0, w = 0, vb = 0, wb = 0;
  for (int t = 0; t < 6; ++t) {
    v = 0.97 * v + 1.0;
    w -= a.schedule.lr(t) * v;
    vb = 0.9 * vb + 1.0;
    wb -= 0.1 * vb;
    CHECK(close(v * a.schedule.lr(t), vb * 0.1));
  }
  CHECK(close(w, wb));
  rules.bias_correction = true;
  CHECK_THROWS_WITH(rules.validate(sgd(0.9)), Contains("choose one"));
}

TEST_CASE("PipeMare's warm-up: lr(t) / s^(1 - min(t / T, 1)) for stages with s >= 1",
          "[optim][staleness]") {
  StalenessRules rules;
  rules.warmup_steps = 10;
  LrScheduleConfig lc;
  lc.base_lr = 0.4;
  lc.decay = LrDecay::Cosine;
  lc.t_max = 100;
  const LrSchedule lr(lc);
  const StageOptimizer a = stage_optimizer(sgd(0.9), lr, rules, 4, 8);
  CHECK(close(a.schedule.lr(0), lr.lr(0) / 4));  // 4^-1
  CHECK(close(a.schedule.lr(5), lr.lr(5) / 2));  // 4^-0.5
  CHECK(close(a.schedule.lr(10), lr.lr(10)));    // done
  CHECK(close(a.schedule.lr(50), lr.lr(50)));    // and after
  CHECK(close(a.schedule.lr(8), lr.lr(8) * std::pow(4.0, -0.2)));
  // s = 1 and s = 0: unchanged (1^x = 1; the rule skips s = 0).
  for (int s : {0, 1}) {
    const StageOptimizer b = stage_optimizer(sgd(0.9), lr, rules, s, 8);
    for (int64_t t : {0, 3, 12}) CHECK(b.schedule.lr(t) == lr.lr(t));
  }
}

TEST_CASE("spike compensation coefficients at s = 0, 1 and 7", "[optim][staleness]") {
  const SpikeMix s0 = spike_mix(0.9, 0);
  CHECK(s0.velocity == 1.0);
  CHECK(s0.gradient == 0.0);
  const SpikeMix s1 = spike_mix(0.9, 1);  // Nesterov: u = mu v + d
  CHECK(s1.velocity == 0.9);
  CHECK(s1.gradient == 1.0);
  const SpikeMix s7 = spike_mix(0.9, 7);  // 0.9^7 = 0.4782969; (1 - 0.9^7) / 0.1 = 5.217031
  CHECK(close(s7.velocity, 0.4782969));
  CHECK(close(s7.gradient, 5.217031));
  // The arrival step is sum_{j<=s} mu^j of the undelayed one: about 5.7 at s = 7.
  CHECK(close(s7.velocity + s7.gradient, 5.6953279));
}

TEST_CASE("a spike-compensated step: plain at s = 0, Nesterov bit for bit at s = 1, by hand at 7",
          "[optim][staleness]") {
  const Stream& st = Stream::cpu();
  const std::vector<double> w0 = random_doubles(64, 1), v0 = random_doubles(64, 2);
  const std::vector<double> g0 = random_doubles(64, 3);
  // Two steps each (the first one sets v = d and does not read the state).
  auto run = [&](OptimizerConfig c, int staleness) {
    Optimizer opt(c, LrSchedule::constant(0.1), DecayMask::all(64), Device::cpu(), st);
    Tensor w =
        make_tensor<float>(std::vector<float>(w0.begin(), w0.end()), Shape{64}, Device::cpu(), st);
    Tensor g =
        make_tensor<float>(std::vector<float>(v0.begin(), v0.end()), Shape{64}, Device::cpu(), st);
    opt.step(w, g, st, nullptr, true, staleness);
    fill<float>(g, g0);
    opt.step(w, g, st, nullptr, true, staleness);
    return get<float>(w);
  };
  OptimizerConfig spike = sgd(0.9, 0.01);
  spike.sgd.spike = true;
  OptimizerConfig nesterov = sgd(0.9, 0.01);
  nesterov.sgd.nesterov = true;
  CHECK(run(spike, 1) == run(nesterov, 1));
  CHECK(run(spike, 0) == run(sgd(0.9, 0.01), 0));
  // s = 7, one element by hand: w = 1, a momentum of 0.2 left by an earlier step, g = 0.5,
  // mu 0.9, lr 0.1, no decay: v' = 0.18 + 0.5 = 0.68;
  // u = 0.4782969 * 0.68 + 5.217031 * 0.5 = 2.933757392; w' = 1 - 0.2933757392.
  OptimizerConfig c = sgd(0.9);
  c.sgd.spike = true;
  Optimizer opt(c, LrSchedule::constant(0.1), DecayMask::all(1), Device::cpu(), st, DType::F64);
  Tensor w = make_tensor<double>({1.0}, Shape{1}, Device::cpu(), st);
  Tensor g = make_tensor<double>({0.5}, Shape{1}, Device::cpu(), st);
  opt.state(0).data<double>()[0] = 0.2;
  opt.set_steps_done(1);  // the state is read: v = 0.9 * 0.2 + 0.5
  opt.step(w, g, st, nullptr, true, 7);
  CHECK(std::abs(opt.state(0).data<double>()[0] - 0.68) < 1e-15);
  CHECK(std::abs(get<double>(w)[0] - (1 - 0.2933757392)) < 1e-12);
}

TEST_CASE("the predictors extrapolate with the stage's own momentum and rates",
          "[optim][staleness][predictor]") {
  // Constant-gradient predicts exactly what s steps with a repeated gradient give, for a stage
  // under every rule at once (its steps s late, as the prediction assumes).
  const Stream& st = Stream::cpu();
  StalenessRules rules;
  rules.momentum_max = 0.99;
  rules.bias_correction = true;
  rules.warmup_steps = 6;
  LrScheduleConfig lc;
  lc.base_lr = 0.05;
  lc.decay = LrDecay::Cosine;
  lc.t_max = 40;
  const LrSchedule lr(lc);
  for (bool spike : {false, true}) {
    rules.spike = spike;
    for (int s = 1; s <= 7; s += 3) {
      INFO("staleness " << s << (spike ? ", spike compensation" : ""));
      const StageOptimizer so = stage_optimizer(sgd(0.9, 0.01), lr, rules, s, 8);
      Optimizer opt(so.config, so.schedule, DecayMask::all(16), Device::cpu(), st, DType::F64);
      Tensor w = make_tensor<double>(random_doubles(16, 7), Shape{16}, Device::cpu(), st);
      Tensor g = Tensor::zeros(Shape{16}, DType::F64, Device::cpu(), st);
      Tensor pred = Tensor::zeros(Shape{16}, DType::F64, Device::cpu(), st);
      const std::vector<double> G = random_doubles(16, 8);
      for (int k = 0; k < 3; ++k) {
        fill<double>(g, random_doubles(16, 20 + k));
        opt.step(w, g, st, nullptr, true, s);
      }
      fill<double>(g, G);
      PredictRequest req{Predictor::ConstantGradient, s, pred};
      opt.step(w, g, st, &req, true, s);
      const std::vector<double> predicted = get<double>(pred);
      for (int j = 0; j < s; ++j) {
        fill<double>(g, G);
        opt.step(w, g, st, nullptr, true, s);
      }
      // A few roundings per step, on weights and momenta of order 1 / (1 - 0.99) at most.
      AUGUR_CHECK_CLOSE(predicted, get<double>(w), tolerance_for(DType::F64, 8 * (s + 1), 100));
      // And the prediction differs from one made with the base optimizer: the test can fail.
      Optimizer base(sgd(0.9, 0.01), lr, DecayMask::all(16), Device::cpu(), st, DType::F64);
      const kernels::PredictScalars a =
          predictor_scalars(Predictor::ConstantGradient, so.config, so.schedule, 4, s);
      const kernels::PredictScalars b =
          predictor_scalars(Predictor::ConstantGradient, base.config(), base.schedule(), 4, s);
      CHECK(a.cv[0] != b.cv[0]);
    }
  }
}

TEST_CASE("the staleness rules refuse what they do not model, naming the flag",
          "[optim][staleness]") {
  StalenessRules rules;
  rules.spike = true;
  OptimizerConfig adam;
  adam.kind = OptimizerKind::AdamW;
  CHECK_THROWS_WITH(rules.validate(adam), Contains("--optimizer sgd"));
  CHECK_THROWS_WITH(rules.validate(sgd(0)), Contains("--momentum above 0"));
  OptimizerConfig nesterov = sgd(0.9);
  nesterov.sgd.nesterov = true;
  CHECK_THROWS_WITH(rules.validate(nesterov), Contains("--nesterov"));
  rules.spike = false;
  rules.momentum_max = 0.5;
  CHECK_THROWS_WITH(rules.validate(sgd(0.9)), Contains("--stage-momentum-max"));
  CHECK(StalenessRules{}.str() == "none");
  rules.momentum_max = 0.98;
  rules.warmup_steps = 48;
  CHECK(rules.str() == "stage momentum to 0.98, stage warm-up over 48 steps");
}
