// Staleness compensation by stage (docs/results.md, ../shared/notes on the literature): each
// rule is a per-stage change of the optimizer's scalars, no new buffers. Stage r of K, whose
// gradients arrive s_r steps late in steady state (its realised staleness), with the run's
// momentum mu and learning-rate schedule lr(t):
//
//   stage momentum     (Ajanthan et al., ICML 2025) mu_r = mu + s_r (mu_max - mu) / K and
//                      lr_r = lr (1 - mu_r) / (1 - mu): the stage's momentum horizon grows with
//                      its delay while its steady-state step lr_r / (1 - mu_r) stays lr / (1 - mu).
//   bias correction    lr_r(t) times 1 / (1 - mu_r^(t+1)) on the (t+1)-th step, so the early
//                      steps are not damped by a momentum buffer that has not filled yet
//                      (the first step is then lr / (1 - mu): ten times sequential's at 0.9);
//                      relative: times (1 - mu^(t+1)) / (1 - mu_r^(t+1)), so a stage's
//                      response to a constant gradient ramps up exactly as the base
//                      momentum's does (1 where mu_r = mu).
//   stage warm-up      (PipeMare T1, MLSys 2021) lr_r(t) = lr(t) / s_r^(1 - min(t / T, 1)) for
//                      s_r >= 1: a stale stage starts at lr / s_r and reaches lr after T steps.
//   spike compensation (Kosson et al.) u = mu^s v + ((1 - mu^s)/(1 - mu)) d for a gradient s
//                      steps late (optim/optimizer_config.h); s is each step's own staleness.
//
// Everything but spike compensation enters the stage's momentum and learning-rate schedule,
// which the predictors read, so they extrapolate with the stage's own mu_r and lr_r(t). Each
// rule is a pure function of the step count and the flags: resuming a checkpoint with the
// same flags continues bit for bit.
#pragma once

#include <cstdint>
#include <string>

#include "optim/lr_schedule.h"
#include "optim/optimizer_config.h"

namespace augur::optim {

struct StalenessRules {
  double momentum_max = 0;       // > 0: stage momentum towards this at the largest staleness
  bool bias_correction = false;  // 1 / (1 - mu_r^t)
  bool relative_bias_correction = false;  // (1 - mu^t) / (1 - mu_r^t)
  int64_t warmup_steps = 0;               // > 0: PipeMare's warm-up over this many steps
  bool spike = false;                     // spike compensation
  bool any() const {
    return momentum_max > 0 || bias_correction || relative_bias_correction || warmup_steps > 0 ||
           spike;
  }
  // Throws naming the flag when a rule does not apply to the optimizer (the rules model SGD
  // with momentum) or a value is out of range.
  void validate(const OptimizerConfig& config) const;
  std::string str() const;  // "stage momentum to 0.98, bias correction, ..." or "none"
};

struct StageOptimizer {
  OptimizerConfig config;
  LrSchedule schedule;
};

// Stage `stage` of `stages`, whose gradients arrive `staleness` steps late in steady state.
StageOptimizer stage_optimizer(const OptimizerConfig& config, const LrSchedule& schedule,
                               const StalenessRules& rules, int staleness, int stages);

}  // namespace augur::optim
