#include "optim/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "runtime/enum_names.h"
#include "runtime/error.h"

namespace augur::optim {

namespace {
const std::vector<LrDecay> kDecays = {LrDecay::Constant, LrDecay::Step, LrDecay::MultiStep,
                                      LrDecay::Cosine};
const std::vector<LrWarmup> kWarmups = {LrWarmup::None, LrWarmup::Linear, LrWarmup::Constant};
}  // namespace

LrDecay parse_lr_decay(const std::string& name) {
  return parse_enum(name, kDecays, lr_decay_name, "learning-rate schedule");
}

LrWarmup parse_lr_warmup(const std::string& name) {
  return parse_enum(name, kWarmups, lr_warmup_name, "learning-rate warm-up");
}

const std::vector<std::string>& lr_decay_names() {
  static const std::vector<std::string> names = enum_names(kDecays, lr_decay_name);
  return names;
}

const std::vector<std::string>& lr_warmup_names() {
  static const std::vector<std::string> names = enum_names(kWarmups, lr_warmup_name);
  return names;
}

const char* lr_decay_name(LrDecay decay) {
  switch (decay) {
    case LrDecay::Constant: return "constant";
    case LrDecay::Step: return "step";
    case LrDecay::MultiStep: return "multistep";
    case LrDecay::Cosine: return "cosine";
  }
  return "unknown";
}

const char* lr_warmup_name(LrWarmup warmup) {
  switch (warmup) {
    case LrWarmup::None: return "none";
    case LrWarmup::Linear: return "linear";
    case LrWarmup::Constant: return "constant";
  }
  return "unknown";
}

double StageLrFactor::at(int64_t step) const {
  double f = scale;
  if (bias_momentum > 0 && bias_momentum != bias_base_momentum) {
    const double t = static_cast<double>(step + 1);
    if (bias_base_momentum == 0)
      f /= 1.0 - std::pow(bias_momentum, t);
    else
      f *= (1.0 - std::pow(bias_base_momentum, t)) / (1.0 - std::pow(bias_momentum, t));
  }
  if (warmup_steps > 0 && warmup_staleness >= 1) {
    const double done =
        std::min(1.0, static_cast<double>(step) / static_cast<double>(warmup_steps));
    f *= std::pow(static_cast<double>(warmup_staleness), -(1.0 - done));
  }
  return f;
}

LrSchedule::LrSchedule(LrScheduleConfig config) : config_(std::move(config)) {
  const LrScheduleConfig& c = config_;
  AUGUR_ARG_CHECK(c.stage.scale > 0 && std::isfinite(c.stage.scale), "stage learning-rate scale ",
                  c.stage.scale, " must be positive");
  AUGUR_ARG_CHECK(c.stage.bias_momentum >= 0 && c.stage.bias_momentum < 1 &&
                      c.stage.bias_base_momentum >= 0 && c.stage.bias_base_momentum < 1,
                  "bias-correction momenta ", c.stage.bias_momentum, " and ",
                  c.stage.bias_base_momentum, " must be in [0, 1)");
  AUGUR_ARG_CHECK(c.stage.warmup_steps >= 0 && c.stage.warmup_staleness >= 0, "stage warm-up over ",
                  c.stage.warmup_steps, " steps at staleness ", c.stage.warmup_staleness);
  AUGUR_ARG_CHECK(c.base_lr >= 0, "learning rate ", c.base_lr, " is negative");
  AUGUR_ARG_CHECK(c.steps_per_unit >= 1, "learning-rate schedule: steps_per_unit ",
                  c.steps_per_unit, " must be at least 1");
  if (c.decay == LrDecay::Step)
    AUGUR_ARG_CHECK(c.step_size >= 1, "step schedule: step_size ", c.step_size,
                    " must be at least 1");
  if (c.decay == LrDecay::MultiStep)
    for (size_t i = 1; i < c.milestones.size(); ++i)
      AUGUR_ARG_CHECK(c.milestones[i - 1] < c.milestones[i],
                      "multistep schedule: milestones must increase strictly (",
                      c.milestones[i - 1], " then ", c.milestones[i], ")");
  if (c.decay == LrDecay::Cosine)
    AUGUR_ARG_CHECK(c.t_max >= 1, "cosine schedule: t_max ", c.t_max, " must be at least 1");
  if (c.warmup != LrWarmup::None) {
    AUGUR_ARG_CHECK(c.warmup_units >= 1, "warm-up over ", c.warmup_units,
                    " units: needs at least 1");
    AUGUR_ARG_CHECK(c.warmup_start_factor > 0 && c.warmup_start_factor <= 1,
                    "warm-up start factor ", c.warmup_start_factor, " must be in (0, 1]");
  }
}

LrSchedule LrSchedule::constant(double lr) {
  LrScheduleConfig c;
  c.base_lr = lr;
  return LrSchedule(c);
}

LrSchedule LrSchedule::with_stage_factor(const StageLrFactor& factor) const {
  LrScheduleConfig c = config_;
  c.stage = factor;
  return LrSchedule(c);
}

double LrSchedule::lr(int64_t step) const {
  const double scheduled = scheduled_lr(step);
  // Exactly the scheduled rate without a factor (no multiply by 1.0 to reason about).
  return config_.stage.identity() ? scheduled : scheduled * config_.stage.at(step);
}

double LrSchedule::scheduled_lr(int64_t step) const {
  AUGUR_ARG_CHECK(step >= 0, "learning rate asked for step ", step);
  const LrScheduleConfig& c = config_;
  int64_t e = step / c.steps_per_unit;
  if (c.warmup != LrWarmup::None) {
    if (e < c.warmup_units) {
      const double f = c.warmup == LrWarmup::Constant
                           ? c.warmup_start_factor
                           : c.warmup_start_factor + (1.0 - c.warmup_start_factor) *
                                                         static_cast<double>(e) /
                                                         static_cast<double>(c.warmup_units);
      return c.base_lr * f;
    }
    e -= c.warmup_units;
  }
  switch (c.decay) {
    case LrDecay::Constant: return c.base_lr;
    case LrDecay::Step: return c.base_lr * std::pow(c.gamma, static_cast<double>(e / c.step_size));
    case LrDecay::MultiStep: {
      const auto passed =
          std::upper_bound(c.milestones.begin(), c.milestones.end(), e) - c.milestones.begin();
      return c.base_lr * std::pow(c.gamma, static_cast<double>(passed));
    }
    case LrDecay::Cosine: {
      const double pi = std::acos(-1.0);
      return c.eta_min +
             (c.base_lr - c.eta_min) *
                 (1.0 + std::cos(pi * static_cast<double>(e) / static_cast<double>(c.t_max))) / 2.0;
    }
  }
  return c.base_lr;
}

std::vector<double> LrSchedule::ahead(int64_t steps_done, int64_t count) const {
  AUGUR_ARG_CHECK(count >= 0, "learning rates asked for ", count, " steps ahead");
  std::vector<double> out(static_cast<size_t>(count));
  for (int64_t j = 0; j < count; ++j) out[static_cast<size_t>(j)] = lr(steps_done + j);
  return out;
}

}  // namespace augur::optim
