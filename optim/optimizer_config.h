// Optimizer hyper-parameters (the learning rate lives in the schedule, optim/lr_schedule.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/optimizer_math.h"

namespace augur::optim {

enum class OptimizerKind { Sgd, AdamW };

// PyTorch's torch.optim.SGD with dampening 0: g += wd*w; v = g on the first step, else
// v = momentum*v + g; w -= lr*v, or with Nesterov w -= lr*(g + momentum*v).
//
// Spike compensation (Kosson et al., "Pipelined Backpropagation at Scale"): a gradient that
// arrives s steps late is applied as u = mu^s v + ((1 - mu^s)/(1 - mu)) d, i.e. at once with
// every contribution sequential momentum SGD would already have made from it, the momentum
// then carrying the tail; s = 0 is the plain update, s = 1 Nesterov's.
struct SgdConfig {
  double momentum = 0.9;  // 0: plain SGD, no state
  double weight_decay = 0;
  bool nesterov = false;
  bool spike = false;  // spike compensation (needs momentum; not with Nesterov)
};

// The spike-compensated direction's coefficients u = velocity*v + gradient*d for staleness s.
struct SpikeMix {
  double velocity = 1, gradient = 0;
};
SpikeMix spike_mix(double momentum, int staleness);

// PyTorch's torch.optim.AdamW (amsgrad off): decoupled decay w *= 1 - lr*wd, bias-corrected
// moments, w -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
struct AdamWConfig {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
};

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::Sgd;
  SgdConfig sgd;
  AdamWConfig adamw;

  double weight_decay() const {
    return kind == OptimizerKind::Sgd ? sgd.weight_decay : adamw.weight_decay;
  }
  // State arenas of the weights' layout: SGD 1 with momentum, else 0; AdamW 2.
  int state_arenas() const;
  // Throws on values PyTorch would refuse (negative rates, Nesterov without momentum, ...).
  void validate() const;
};

// "sgd|adamw"; anything else throws.
OptimizerKind parse_optimizer_kind(const std::string& name);
const char* optimizer_kind_name(OptimizerKind kind);
const std::vector<std::string>& optimizer_kind_names();

// A configuration from the command line's terms: `kind` "sgd" or "adamw"; momentum and
// Nesterov apply to SGD, weight decay to both (AdamW's other settings keep their defaults).
OptimizerConfig optimizer_config(const std::string& kind, double momentum, double weight_decay,
                                 bool nesterov);

// The kernel scalars of the step that follows `steps_done` steps, at learning rate `lr`,
// applying gradients `staleness` steps late (what spike compensation reads).
kernels::StepScalars step_scalars(const OptimizerConfig& config, double lr, int64_t steps_done,
                                  int staleness = 0);

}  // namespace augur::optim
