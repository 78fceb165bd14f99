#include "optim/predictor.h"

#include "runtime/enum_names.h"

#include <cmath>
#include <vector>

#include "runtime/error.h"

namespace augur::optim {

namespace {

// A linear form over the post-step state: w*W + v*v + g*g.
struct Form {
  double w = 0, v = 0, g = 0;
};
Form operator+(Form a, Form b) {
  return {a.w + b.w, a.v + b.v, a.g + b.g};
}
Form operator*(double k, Form a) {
  return {k * a.w, k * a.v, k * a.g};
}

struct SgdState {
  Form w{1, 0, 0};
  Form v{0, 1, 0};
};

// One SGD step on coefficient forms with raw gradient `grad`; returns its direction u. With
// spike compensation every step ahead applies a gradient `staleness` steps late, as the
// stage's steps do in steady state.
Form sgd_step(SgdState& s, const SgdConfig& c, double wd, Form grad, double lr, int staleness) {
  const Form d = grad + wd * s.w;
  Form u = d;
  if (c.momentum != 0) {
    s.v = c.momentum * s.v + d;
    if (c.nesterov) {
      u = d + c.momentum * s.v;
    } else if (c.spike && staleness > 0) {
      const SpikeMix m = spike_mix(c.momentum, staleness);
      u = m.gradient * d + m.velocity * s.v;
    } else {
      u = s.v;
    }
  }
  s.w = s.w + (-lr) * u;
  return u;
}

void set_class(kernels::PredictScalars& p, int k, Form w_hat) {
  p.dw[k] = w_hat.w - 1.0;
  p.cv[k] = w_hat.v;
  p.cg[k] = w_hat.g;
}

kernels::PredictScalars sgd_scalars(Predictor predictor, const SgdConfig& c,
                                    const std::vector<double>& lrs) {
  const int staleness = static_cast<int>(lrs.size());  // the horizon: the forward's staleness
  kernels::PredictScalars p;
  p.form = kernels::PredictForm::Affine;
  for (int k = 0; k < 2; ++k) {
    const double wd = k == 0 ? c.weight_decay : 0.0;
    SgdState s;
    if (predictor == Predictor::Linear) {
      double total = 0;
      for (double lr : lrs) total += lr;
      const Form u = sgd_step(s, c, wd, Form{0, 0, 1}, 1.0, staleness);
      set_class(p, k, Form{1, 0, 0} + (-total) * u);
    } else {
      const Form grad = predictor == Predictor::ConstantGradient ? Form{0, 0, 1} : Form{};
      for (double lr : lrs) sgd_step(s, c, wd, grad, lr, staleness);
      set_class(p, k, s.w);
    }
  }
  return p;
}

kernels::PredictScalars adamw_scalars(const AdamWConfig& c, const std::vector<double>& lrs,
                                      int64_t steps_done) {
  kernels::PredictScalars p;
  p.form = kernels::PredictForm::AdamWDirection;
  const double bc1 = 1.0 - std::pow(c.beta1, static_cast<double>(steps_done));
  for (int k = 0; k < 2; ++k) {
    const double wd = k == 0 ? c.weight_decay : 0.0;
    double keep = 1, moved = 0;  // W_hat = keep*W - moved*D
    for (double lr : lrs) {
      keep *= 1.0 - lr * wd;
      moved = moved * (1.0 - lr * wd) + lr;
    }
    p.dw[k] = keep - 1.0;
    p.cv[k] = -moved / bc1;  // the kernel's u is m / denom; D = u / bc1
  }
  return p;
}

}  // namespace

namespace {
const std::vector<Predictor> kPredictors = {Predictor::None, Predictor::Linear, Predictor::Nesterov,
                                            Predictor::ConstantGradient};
}

Predictor parse_predictor(const std::string& name) {
  return parse_enum(name, kPredictors, predictor_name, "predictor");
}

const std::vector<std::string>& predictor_names() {
  static const std::vector<std::string> names = enum_names(kPredictors, predictor_name);
  return names;
}

const char* predictor_name(Predictor predictor) {
  switch (predictor) {
    case Predictor::None: return "none";
    case Predictor::Linear: return "linear";
    case Predictor::Nesterov: return "nesterov";
    case Predictor::ConstantGradient: return "constant-gradient";
  }
  return "unknown";
}

void check_predictor(Predictor predictor, const OptimizerConfig& config) {
  AUGUR_ARG_CHECK(config.kind == OptimizerKind::Sgd || predictor == Predictor::None ||
                      predictor == Predictor::Linear,
                  "predictor ", predictor_name(predictor),
                  " models SGD with momentum; AdamW predicts with its own update direction: use "
                  "the linear predictor (or none)");
}

bool predictor_reads_gradient(Predictor predictor, const OptimizerConfig& config) {
  return config.kind == OptimizerKind::Sgd &&
         (predictor == Predictor::Linear || predictor == Predictor::ConstantGradient);
}

kernels::PredictScalars predictor_scalars(Predictor predictor, const OptimizerConfig& config,
                                          const LrSchedule& schedule, int64_t steps_done,
                                          int64_t horizon) {
  check_predictor(predictor, config);
  AUGUR_ARG_CHECK(horizon >= 0, "prediction horizon ", horizon, " is negative");
  AUGUR_ARG_CHECK(steps_done >= 0, "prediction after ", steps_done, " steps");
  if (predictor == Predictor::None || horizon == 0 || steps_done == 0) return {};
  const std::vector<double> lrs = schedule.ahead(steps_done, horizon);
  if (config.kind == OptimizerKind::AdamW) return adamw_scalars(config.adamw, lrs, steps_done);
  return sgd_scalars(predictor, config.sgd, lrs);
}

}  // namespace augur::optim
