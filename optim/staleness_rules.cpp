#include "optim/staleness_rules.h"

#include <sstream>

#include "runtime/error.h"

namespace augur::optim {

void StalenessRules::validate(const OptimizerConfig& config) const {
  if (!any()) return;
  if (config.kind != OptimizerKind::Sgd || config.sgd.momentum == 0)
    throw Error(
        "--stage-momentum-max, --momentum-bias-correction, --relative-bias-correction, "
        "--stage-lr-warmup-steps and --spike-compensation model SGD with momentum: use "
        "--optimizer sgd with --momentum above 0");
  if (bias_correction && relative_bias_correction)
    throw Error("--momentum-bias-correction and --relative-bias-correction: choose one");
  if (momentum_max > 0 && !(momentum_max >= config.sgd.momentum && momentum_max < 1))
    throw Error("--stage-momentum-max: must be at least --momentum (" +
                std::to_string(config.sgd.momentum) + ") and below 1, got " +
                std::to_string(momentum_max));
  if (warmup_steps < 0) throw Error("--stage-lr-warmup-steps: must be a non-negative integer");
  if (spike && config.sgd.nesterov)
    throw Error(
        "--spike-compensation and --nesterov are two forms of one update (Nesterov is spike "
        "compensation at staleness 1): choose one");
}

std::string StalenessRules::str() const {
  if (!any()) return "none";
  std::ostringstream os;
  const char* sep = "";
  if (momentum_max > 0) {
    os << "stage momentum to " << momentum_max;
    sep = ", ";
  }
  if (bias_correction || relative_bias_correction) {
    os << sep << (relative_bias_correction ? "relative bias correction" : "bias correction");
    sep = ", ";
  }
  if (warmup_steps > 0) {
    os << sep << "stage warm-up over " << warmup_steps << " steps";
    sep = ", ";
  }
  if (spike) os << sep << "spike compensation";
  return os.str();
}

StageOptimizer stage_optimizer(const OptimizerConfig& config, const LrSchedule& schedule,
                               const StalenessRules& rules, int staleness, int stages) {
  AUGUR_ARG_CHECK(stages >= 1 && staleness >= 0, "stage optimizer at staleness ", staleness,
                  " of a ", stages, "-stage pipeline");
  rules.validate(config);
  if (!rules.any()) return {config, schedule};
  OptimizerConfig c = config;
  StageLrFactor f;
  const double mu = config.sgd.momentum;
  double mu_r = mu;
  if (rules.momentum_max > 0) {
    mu_r = mu +
           static_cast<double>(staleness) * (rules.momentum_max - mu) / static_cast<double>(stages);
    c.sgd.momentum = mu_r;
    f.scale = (1.0 - mu_r) / (1.0 - mu);
  }
  if (rules.bias_correction || rules.relative_bias_correction) f.bias_momentum = mu_r;
  if (rules.relative_bias_correction) f.bias_base_momentum = mu;
  if (rules.warmup_steps > 0 && staleness >= 1) {
    f.warmup_steps = rules.warmup_steps;
    f.warmup_staleness = staleness;
  }
  c.sgd.spike = rules.spike;
  c.validate();
  return {c, schedule.with_stage_factor(f)};
}

}  // namespace augur::optim
