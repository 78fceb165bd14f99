// Weight predictors against what they claim: constant-gradient equals the weights after
// actually running s steps with that gradient; nesterov is the NAG lookahead (and s steps with
// no new gradient); linear holds the next step's direction with the rates ahead; AdamW holds
// its bias-corrected direction; a horizon of 0 changes nothing.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "optim/optimizer.h"
#include "tests/support/close.h"
#include "tests/support/random.h"
#include "tests/support/tensors.h"

using namespace augur;
using namespace augur::optim;
using augur::test::make_tensor;
using augur::test::random_doubles;
using augur::test::to_vector;
using augur::test::tolerance_for;

namespace {

constexpr int64_t kN = 37;

// Decaying elements and two excluded ranges (BatchNorm parameters, a bias).
DecayMask mask() {
  return DecayMask(kN, {{10, 5, false}, {20, 3, false}});
}

// lr 0.1, dropping to 0.01 at step 4 (0-based): after 2 warm-up steps and the step that
// predicts, the rates ahead are 0.1, 0.01, 0.01, ...
LrSchedule dropping_schedule() {
  LrScheduleConfig c;
  c.base_lr = 0.1;
  c.decay = LrDecay::MultiStep;
  c.milestones = {4};
  c.gamma = 0.1;
  return LrSchedule(c);
}

OptimizerConfig sgd(double momentum, double wd, bool nesterov = false) {
  OptimizerConfig c;
  c.sgd.momentum = momentum;
  c.sgd.weight_decay = wd;
  c.sgd.nesterov = nesterov;
  return c;
}

template <class T>
void fill(const TensorView& v, const std::vector<double>& values) {
  T* p = v.data<T>();
  for (size_t i = 0; i < values.size(); ++i) p[i] = static_cast<T>(values[i]);
}

template <class T>
std::vector<double> get(const TensorView& v) {
  const T* p = v.data<T>();
  return std::vector<double>(p, p + v.numel());
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

// An optimizer on kN parameters after `warm` steps with random gradients.
template <class T>
struct Stage {
  Optimizer opt;
  Tensor w, g, pred;
  Stage(const OptimizerConfig& c, const LrSchedule& s, int warm)
      : opt(c, s, mask(), Device::cpu(), Stream::cpu(), dtype_of<T>()),
        w(Tensor::zeros(Shape{kN}, dtype_of<T>(), Device::cpu(), Stream::cpu())),
        g(Tensor::zeros(Shape{kN}, dtype_of<T>(), Device::cpu(), Stream::cpu())),
        pred(Tensor::zeros(Shape{kN}, dtype_of<T>(), Device::cpu(), Stream::cpu())) {
    fill<T>(w, random_doubles(kN, 100));
    for (int i = 0; i < warm; ++i) {
      fill<T>(g, random_doubles(kN, 200 + i));
      opt.step(w, g, Stream::cpu());
    }
  }
};

const std::vector<double> kGradient = random_doubles(kN, 300);

// Steps with the gradient G, the first one fused with the prediction s ahead; then s more
// with the same G. Returns {fused prediction, predict-only prediction, weights reached}.
template <class T>
std::vector<std::vector<double>> predict_then_run(const OptimizerConfig& c, const LrSchedule& s,
                                                  Predictor p, int64_t horizon) {
  const Stream& st = Stream::cpu();
  Stage<T> a(c, s, 2);
  fill<T>(a.g, kGradient);
  PredictRequest r{p, horizon, a.pred};
  a.opt.step(a.w, a.g, st, &r, /*zero_grads=*/false);
  const auto fused = get<T>(a.pred);
  Tensor other = Tensor::zeros(Shape{kN}, dtype_of<T>(), Device::cpu(), st);
  a.opt.predict(a.w, a.g, PredictRequest{p, horizon, other}, st);
  const auto alone = get<T>(other);
  for (int64_t j = 0; j < horizon; ++j) {
    fill<T>(a.g, kGradient);
    a.opt.step(a.w, a.g, st);
  }
  return {fused, alone, get<T>(a.w)};
}

// s steps of a handful of roundings each on values of order `magnitude`, on both sides.
template <class T>
test::Tolerance steps_tolerance(int64_t steps, double magnitude) {
  return tolerance_for(dtype_of<T>(), 8 * (steps + 1), magnitude);
}

}  // namespace

TEST_CASE("predictor names", "[optim][predictor]") {
  CHECK(parse_predictor("none") == Predictor::None);
  CHECK(parse_predictor("linear") == Predictor::Linear);
  CHECK(parse_predictor("nesterov") == Predictor::Nesterov);
  CHECK(parse_predictor("constant-gradient") == Predictor::ConstantGradient);
  CHECK(std::string(predictor_name(Predictor::ConstantGradient)) == "constant-gradient");
  CHECK_THROWS_WITH(parse_predictor("spectrain"), Catch::Contains("'spectrain'"));
  OptimizerConfig adam;
  adam.kind = OptimizerKind::AdamW;
  CHECK_THROWS_WITH(check_predictor(Predictor::Nesterov, adam), Catch::Contains("AdamW"));
  CHECK_NOTHROW(check_predictor(Predictor::Linear, adam));
}

TEMPLATE_TEST_CASE("constant-gradient predicts exactly the steps a repeated gradient takes",
                   "[optim][predictor]", float, double) {
  const std::vector<std::pair<const char*, OptimizerConfig>> configs = {
      {"momentum, weight decay", sgd(0.9, 0.1)},
      {"nesterov, weight decay", sgd(0.9, 0.1, true)},
      {"no momentum, weight decay", sgd(0, 0.1)},
      {"momentum", sgd(0.5, 0)}};
  for (const auto& [name, c] : configs) {
    for (int64_t s = 1; s <= 5; ++s) {
      INFO(name << ", s = " << s << " (the rate drops after the first step ahead)");
      const auto r =
          predict_then_run<TestType>(c, dropping_schedule(), Predictor::ConstantGradient, s);
      const double mag = std::max(max_abs(r[2]), 10.0);  // |v| <= |g| / (1 - mu) <= 10
      AUGUR_CHECK_CLOSE(r[0], r[2], steps_tolerance<TestType>(s, mag));
      CHECK(r[1] == r[0]);  // predict-only = fused, bit for bit
    }
  }
}

TEST_CASE("a horizon of 0 gives the weights unchanged", "[optim][predictor]") {
  OptimizerConfig adam;
  adam.kind = OptimizerKind::AdamW;
  for (Predictor p :
       {Predictor::None, Predictor::Linear, Predictor::Nesterov, Predictor::ConstantGradient}) {
    for (const OptimizerConfig& c : {sgd(0.9, 0.1), sgd(0.9, 0.1, true), adam}) {
      if (c.kind == OptimizerKind::AdamW && p != Predictor::None && p != Predictor::Linear)
        continue;
      INFO(predictor_name(p) << " with " << optimizer_kind_name(c.kind));
      const auto r = predict_then_run<float>(c, dropping_schedule(), p, 0);
      CHECK(r[0] == r[2]);
      CHECK(r[1] == r[2]);
    }
  }
  // Before the first step there is nothing to extrapolate from.
  Stage<float> a(sgd(0.9, 0.1), dropping_schedule(), 0);
  a.opt.predict(a.w, a.g, PredictRequest{Predictor::ConstantGradient, 3, a.pred}, Stream::cpu());
  CHECK(get<float>(a.pred) == get<float>(a.w));
}

TEST_CASE("nesterov with s = 1 is the NAG lookahead W - lr mu v", "[optim][predictor]") {
  const Stream& st = Stream::cpu();
  for (double wd : {0.0, 0.1}) {
    INFO("weight decay " << wd);
    Stage<double> a(sgd(0.9, wd), dropping_schedule(), 2);
    fill<double>(a.g, kGradient);
    PredictRequest r{Predictor::Nesterov, 1, a.pred};
    a.opt.step(a.w, a.g, st, &r);
    const auto w = get<double>(a.w), v = get<double>(a.opt.state(0));
    const double lr = dropping_schedule().lr(3);  // the next step's rate
    std::vector<double> expected(kN);
    for (int64_t i = 0; i < kN; ++i) {
      // Weight decay, where it applies, acts in the step ahead as well.
      const double decay = a.opt.mask().decays(i) ? wd * w[i] : 0.0;
      expected[i] = w[i] - lr * (0.9 * v[i] + decay);
    }
    AUGUR_CHECK_CLOSE(get<double>(a.pred), expected, steps_tolerance<double>(1, 10));
  }
}

TEST_CASE("nesterov over s steps sums lr_{t+j} mu^j and equals s steps without gradient",
          "[optim][predictor]") {
  const Stream& st = Stream::cpu();
  const LrSchedule sched = dropping_schedule();
  for (int64_t s = 1; s <= 4; ++s) {
    INFO("s = " << s);
    Stage<double> a(sgd(0.9, 0), sched, 2);
    fill<double>(a.g, kGradient);
    PredictRequest r{Predictor::Nesterov, s, a.pred};
    a.opt.step(a.w, a.g, st, &r);
    const auto w = get<double>(a.w), v = get<double>(a.opt.state(0));
    double k = 0, mu_j = 1;
    for (int64_t j = 1; j <= s; ++j) {
      mu_j *= 0.9;
      k += sched.lr(3 + j - 1) * mu_j;  // rates of steps 3, 4, ...: 0.1, then 0.01
    }
    std::vector<double> expected(kN);
    for (int64_t i = 0; i < kN; ++i) expected[i] = w[i] - k * v[i];
    AUGUR_CHECK_CLOSE(get<double>(a.pred), expected, steps_tolerance<double>(s, 10));
  }
  // With weight decay: the steps a zero gradient would take.
  for (int64_t s = 1; s <= 4; ++s) {
    INFO("with weight decay, s = " << s);
    Stage<double> a(sgd(0.9, 0.1, true), sched, 3);
    PredictRequest r{Predictor::Nesterov, s, a.pred};
    a.opt.predict(a.w, TensorView(), r, st);
    for (int64_t j = 0; j < s; ++j) a.opt.step(a.w, a.g, st);  // g is zero after each step
    AUGUR_CHECK_CLOSE(get<double>(a.pred), get<double>(a.w),
                      steps_tolerance<double>(s, max_abs(get<double>(a.w)) + 10));
  }
}

TEST_CASE("linear holds the next step's direction for the rates ahead", "[optim][predictor]") {
  const Stream& st = Stream::cpu();
  const LrSchedule sched = dropping_schedule();
  for (bool nesterov : {false, true}) {
    for (int64_t s = 1; s <= 4; ++s) {
      INFO((nesterov ? "nesterov SGD" : "momentum SGD") << ", s = " << s);
      Stage<double> a(sgd(0.9, 0.1, nesterov), sched, 2);
      fill<double>(a.g, kGradient);
      PredictRequest r{Predictor::Linear, s, a.pred};
      a.opt.step(a.w, a.g, st, &r);
      const auto w = get<double>(a.w), v = get<double>(a.opt.state(0));
      // sum of lr(3), ..., lr(3+s-1): 0.1 + 0.01 (s-1), not 0.1 s.
      const double total = 0.1 + 0.01 * double(s - 1);
      std::vector<double> expected(kN);
      for (int64_t i = 0; i < kN; ++i) {
        const double d = kGradient[i] + (a.opt.mask().decays(i) ? 0.1 * w[i] : 0.0);
        const double u = nesterov ? 1.9 * d + 0.81 * v[i] : 0.9 * v[i] + d;
        expected[i] = w[i] - total * u;
      }
      AUGUR_CHECK_CLOSE(get<double>(a.pred), expected, steps_tolerance<double>(s, 10));
    }
  }
  // s = 1: linear and constant-gradient both take exactly the next step.
  const auto lin = predict_then_run<double>(sgd(0.9, 0.1), sched, Predictor::Linear, 1);
  AUGUR_CHECK_CLOSE(lin[0], lin[2], steps_tolerance<double>(1, 10));
}

TEST_CASE("linear and constant-gradient predict-only need the last gradient",
          "[optim][predictor]") {
  Stage<float> a(sgd(0.9, 0.1), dropping_schedule(), 2);
  CHECK_THROWS_WITH(
      a.opt.predict(a.w, TensorView(), PredictRequest{Predictor::Linear, 2, a.pred}, Stream::cpu()),
      Catch::Contains("zero_grads = false"));
}

TEST_CASE("AdamW predicts with its own bias-corrected direction", "[optim][predictor][adamw]") {
  const Stream& st = Stream::cpu();
  OptimizerConfig c;
  c.kind = OptimizerKind::AdamW;
  c.adamw.weight_decay = 0.1;
  const LrSchedule sched = dropping_schedule();
  for (int64_t s = 1; s <= 4; ++s) {
    INFO("s = " << s);
    Stage<double> a(c, sched, 2);
    fill<double>(a.g, kGradient);
    PredictRequest r{Predictor::Linear, s, a.pred};
    a.opt.step(a.w, a.g, st, &r);
    auto w = get<double>(a.w);
    const auto m = get<double>(a.opt.state(0)), v = get<double>(a.opt.state(1));
    const double n = 3;  // steps done
    const double bc1 = 1 - std::pow(0.9, n), bc2 = 1 - std::pow(0.999, n);
    for (int64_t i = 0; i < kN; ++i) {
      const double dir = m[i] / (std::sqrt(v[i]) / std::sqrt(bc2) + 1e-8) / bc1;
      const double wd = a.opt.mask().decays(i) ? 0.1 : 0.0;
      for (int64_t j = 0; j < s; ++j) {
        const double lr = sched.lr(3 + j);
        w[i] = w[i] * (1 - lr * wd) - lr * dir;
      }
    }
    AUGUR_CHECK_CLOSE(get<double>(a.pred), w, steps_tolerance<double>(s, 10));
  }
}

TEST_CASE("a bf16 prediction is the f32 prediction rounded once", "[optim][predictor]") {
  const Stream& st = Stream::cpu();
  Stage<float> a(sgd(0.9, 0.1), dropping_schedule(), 2), b(sgd(0.9, 0.1), dropping_schedule(), 2);
  Tensor rounded = Tensor::zeros(Shape{kN}, DType::BF16, Device::cpu(), st);
  fill<float>(a.g, kGradient);
  fill<float>(b.g, kGradient);
  PredictRequest ra{Predictor::ConstantGradient, 3, a.pred},
      rb{Predictor::ConstantGradient, 3, rounded};
  a.opt.step(a.w, a.g, st, &ra);
  b.opt.step(b.w, b.g, st, &rb);
  const auto f = to_vector<float>(a.pred, st);
  const auto h = to_vector<bf16>(rounded, st);
  for (int64_t i = 0; i < kN; ++i) {
    const bf16 e = float_to_bf16(f[i]);
    CHECK(std::memcmp(&h[i], &e, sizeof e) == 0);
  }
}
