// Learning-rate schedules with PyTorch's semantics, evaluated in closed form at any step, so
// the predictors can ask for the rates of the steps ahead.
//
// Steps are counted from 0: lr(k) is the rate of the step applied after k steps, i.e. the
// (k+1)-th call of the optimizer. The schedule runs in units of `steps_per_unit` optimizer
// steps (1: per-iteration scheduling; the epoch length: PyTorch's usual once-per-epoch
// scheduler.step()); every length below is in those units, at e = floor(k / steps_per_unit).
//
//   constant   base_lr
//   step       base_lr * gamma^floor(e / step_size)                    (StepLR)
//   multistep  base_lr * gamma^(number of milestones <= e)             (MultiStepLR)
//   cosine     eta_min + (base_lr - eta_min) * (1 + cos(pi e / t_max)) / 2
//              (CosineAnnealingLR's closed form; past t_max it rises again, as PyTorch's does)
// With a warm-up of W units the first W units use base_lr times
//   linear     start_factor + (1 - start_factor) * e / W               (LinearLR)
//   constant   start_factor                                            (ConstantLR)
// and the decay then starts from its own unit 0 at e = W (SequentialLR with milestone W, as
// torchvision's reference scripts combine them).
//
// A pipeline stage may scale its rates further, per step k (StageLrFactor, set by the
// staleness rules of optim/staleness_rules.h): a constant factor, a momentum bias correction
// 1/(1 - mu^(k+1)), and PipeMare's warm-up s^-(1 - min(k/T, 1)). The factor multiplies the
// scheduled rate after warm-up and decay, so the predictors, which ask the schedule for the
// rates ahead, extrapolate with the stage's own rates.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace augur::optim {

enum class LrDecay { Constant, Step, MultiStep, Cosine };
enum class LrWarmup { None, Linear, Constant };

struct StageLrFactor {
  double scale = 1;  // every step
  // bias_momentum > 0: times (1 - bias_base_momentum^(k+1)) / (1 - bias_momentum^(k+1)).
  double bias_momentum = 0;
  double bias_base_momentum = 0;
  // warmup_steps > 0 and warmup_staleness >= 1: times warmup_staleness^-(1 - min(k/T, 1)).
  int64_t warmup_steps = 0;
  int warmup_staleness = 0;
  bool identity() const {
    return scale == 1 && (bias_momentum == 0 || bias_momentum == bias_base_momentum) &&
           (warmup_steps == 0 || warmup_staleness < 1);
  }
  double at(int64_t step) const;
};

struct LrScheduleConfig {
  double base_lr = 0.1;
  LrDecay decay = LrDecay::Constant;
  double gamma = 0.1;               // step, multistep
  int64_t step_size = 1;            // step
  std::vector<int64_t> milestones;  // multistep, strictly increasing
  int64_t t_max = 1;                // cosine
  double eta_min = 0;               // cosine
  LrWarmup warmup = LrWarmup::None;
  int64_t warmup_units = 0;
  double warmup_start_factor = 1.0 / 3;  // PyTorch's default for both warm-ups
  int64_t steps_per_unit = 1;
  StageLrFactor stage;
};

// "constant|step|multistep|cosine" and "none|linear|constant"; anything else throws.
LrDecay parse_lr_decay(const std::string& name);
LrWarmup parse_lr_warmup(const std::string& name);
const char* lr_decay_name(LrDecay decay);
const char* lr_warmup_name(LrWarmup warmup);
const std::vector<std::string>& lr_decay_names();
const std::vector<std::string>& lr_warmup_names();

class LrSchedule {
 public:
  LrSchedule() : LrSchedule(LrScheduleConfig{}) {}
  // Throws on a meaningless configuration (naming the field and value).
  explicit LrSchedule(LrScheduleConfig config);
  static LrSchedule constant(double lr);

  double lr(int64_t step) const;
  // The same schedule with a stage's factor (replacing any it had).
  LrSchedule with_stage_factor(const StageLrFactor& factor) const;
  // The rates of the next `count` steps after `steps_done` steps: lr(steps_done), ...,
  // lr(steps_done + count - 1).
  std::vector<double> ahead(int64_t steps_done, int64_t count) const;
  const LrScheduleConfig& config() const { return config_; }

 private:
  double scheduled_lr(int64_t step) const;  // without the stage factor

  LrScheduleConfig config_;
};

}  // namespace augur::optim
