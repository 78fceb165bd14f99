// Weight predictors: the weights the optimizer will reach `s` steps ahead, predicted right
// after a step so that a stale stage can run its forward pass with them.
//
// What the prediction starts from (the state the fused kernel holds in registers just after
// the update): the updated weights W, the updated momentum v, and g, the raw gradient this
// step consumed (before weight decay is added). The learning rates are those of the next s
// steps, eta_1..eta_s = lr(n), ..., lr(n+s-1) after n steps, never s times the current one.
// One SGD step with raw gradient G is, per element (wd = 0 for excluded elements):
//   d = G + wd*W,  v' = mu*v + d,  u = d + mu*v' (Nesterov) or v',  W' = W - eta*u
// (with spike compensation u = mu^s v' + ((1 - mu^s)/(1 - mu)) d, s the horizon: in steady
// state every step ahead applies a gradient as late as the forward being predicted for). The
// momentum and the rates are the stage's own (optim/staleness_rules.h), so a stage with its
// own momentum and learning-rate factor is extrapolated as it will step.
//
//   constant-gradient  the exact result of s such steps with G = g each time: weight decay
//                      acts on the evolving weights. Exact if the gradient repeats.
//   nesterov           s such steps with G = 0: the momentum coasting and weight decay
//                      acting, no new gradient. Without weight decay and Nesterov updates this
//                      is W - v * sum_j eta_j mu^j (the NAG lookahead W - eta mu v for s = 1).
//   linear             (SpecTrain) the direction of the next step if g repeats, u_1 = mu*v + g
//                      + wd*W (Nesterov: (1+mu)(g + wd*W) + mu^2 v), held for s steps:
//                      W - (sum_j eta_j) * u_1.
//   none               W.
// AdamW has its own: `linear` holds the bias-corrected direction of the step just applied,
// D = m / (sqrt(v)/sqrt(1-b2^n) + eps) / (1-b1^n), with decoupled decay acting on the way:
// W_j = W_{j-1} (1 - eta_j wd) - eta_j D. `nesterov` and `constant-gradient` are SGD's only.
//
// Each is affine in (W, v, g) (AdamW: in (W, D)), so the coefficients are derived here in
// double by running the recurrence on coefficient vectors, once per call and decay class, and
// the kernels do three multiply-adds per element whatever s is. A horizon of 0, the predictor
// none, or a state before the first step give the weights unchanged.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/optimizer_math.h"
#include "optim/lr_schedule.h"
#include "optim/optimizer_config.h"

namespace augur::optim {

enum class Predictor { None, Linear, Nesterov, ConstantGradient };

// "none|linear|nesterov|constant-gradient"; anything else throws.
Predictor parse_predictor(const std::string& name);
const char* predictor_name(Predictor predictor);
const std::vector<std::string>& predictor_names();

// Throws when the predictor does not apply to the optimizer (AdamW with nesterov or
// constant-gradient).
void check_predictor(Predictor predictor, const OptimizerConfig& config);

// True when the prediction reads the last step's gradient (linear and constant-gradient on
// SGD).
bool predictor_reads_gradient(Predictor predictor, const OptimizerConfig& config);

// Coefficients for the prediction `horizon` steps ahead, made after `steps_done` steps.
kernels::PredictScalars predictor_scalars(Predictor predictor, const OptimizerConfig& config,
                                          const LrSchedule& schedule, int64_t steps_done,
                                          int64_t horizon);

}  // namespace augur::optim
