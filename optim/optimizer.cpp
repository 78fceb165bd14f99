#include "optim/optimizer.h"

#include <algorithm>
#include <utility>

#include "kernels/optimizer_update.h"
#include "runtime/enum_names.h"
#include "runtime/error.h"

namespace augur::optim {

int OptimizerConfig::state_arenas() const {
  if (kind == OptimizerKind::AdamW) return 2;
  return sgd.momentum != 0 ? 1 : 0;
}

void OptimizerConfig::validate() const {
  if (kind == OptimizerKind::Sgd) {
    AUGUR_ARG_CHECK(sgd.momentum >= 0 && sgd.momentum < 1, "SGD momentum ", sgd.momentum,
                    " must be in [0, 1)");
    AUGUR_ARG_CHECK(sgd.weight_decay >= 0, "SGD weight decay ", sgd.weight_decay, " is negative");
    AUGUR_ARG_CHECK(!sgd.nesterov || sgd.momentum > 0, "Nesterov SGD needs a momentum above 0");
    AUGUR_ARG_CHECK(!sgd.spike || sgd.momentum > 0, "spike compensation needs a momentum above 0");
    AUGUR_ARG_CHECK(!(sgd.spike && sgd.nesterov),
                    "spike compensation and Nesterov are two forms of one update (Nesterov is "
                    "spike compensation at staleness 1): choose one");
  } else {
    AUGUR_ARG_CHECK(adamw.beta1 >= 0 && adamw.beta1 < 1 && adamw.beta2 >= 0 && adamw.beta2 < 1,
                    "AdamW betas (", adamw.beta1, ", ", adamw.beta2, ") must be in [0, 1)");
    AUGUR_ARG_CHECK(adamw.eps > 0, "AdamW eps ", adamw.eps, " must be positive");
    AUGUR_ARG_CHECK(adamw.weight_decay >= 0, "AdamW weight decay ", adamw.weight_decay,
                    " is negative");
  }
}

namespace {
const std::vector<OptimizerKind> kOptimizers = {OptimizerKind::Sgd, OptimizerKind::AdamW};
}

OptimizerKind parse_optimizer_kind(const std::string& name) {
  return parse_enum(name, kOptimizers, optimizer_kind_name, "optimizer");
}

const std::vector<std::string>& optimizer_kind_names() {
  static const std::vector<std::string> names = enum_names(kOptimizers, optimizer_kind_name);
  return names;
}

const char* optimizer_kind_name(OptimizerKind kind) {
  return kind == OptimizerKind::Sgd ? "sgd" : "adamw";
}

OptimizerConfig optimizer_config(const std::string& kind, double momentum, double weight_decay,
                                 bool nesterov) {
  OptimizerConfig c;
  c.kind = parse_optimizer_kind(kind);
  if (c.kind == OptimizerKind::Sgd) {
    c.sgd.momentum = momentum;
    c.sgd.weight_decay = weight_decay;
    c.sgd.nesterov = nesterov;
  } else {
    c.adamw.weight_decay = weight_decay;
  }
  return c;
}

SpikeMix spike_mix(double momentum, int staleness) {
  AUGUR_ARG_CHECK(staleness >= 0 && momentum >= 0 && momentum < 1,
                  "spike compensation at staleness ", staleness, " with momentum ", momentum);
  SpikeMix m;
  // Products of mu in order, as the momentum itself compounds: mu^s and 1 + mu + ... + mu^(s-1).
  double power = 1, sum = 0;
  for (int j = 0; j < staleness; ++j) {
    sum += power;
    power *= momentum;
  }
  m.velocity = power;
  m.gradient = sum;
  return m;
}

kernels::StepScalars step_scalars(const OptimizerConfig& config, double lr, int64_t steps_done,
                                  int staleness) {
  kernels::StepScalars s;
  s.first_step = steps_done == 0;
  s.lr = lr;
  s.weight_decay = config.weight_decay();
  if (config.kind == OptimizerKind::Sgd) {
    s.rule = kernels::UpdateRule::Sgd;
    s.momentum = config.sgd.momentum;
    s.nesterov = config.sgd.nesterov;
    if (config.sgd.spike && staleness > 0) {
      const SpikeMix m = spike_mix(config.sgd.momentum, staleness);
      s.spike = true;
      s.spike_velocity = m.velocity;
      s.spike_gradient = m.gradient;
    }
  } else {
    s.rule = kernels::UpdateRule::AdamW;
    s.beta1 = config.adamw.beta1;
    s.beta2 = config.adamw.beta2;
    s.eps = config.adamw.eps;
    s.adam_step = steps_done + 1;
  }
  return s;
}

DecayMask::DecayMask(int64_t numel, const std::vector<DecayRange>& ranges) : numel_(numel) {
  AUGUR_ARG_CHECK(numel >= 0, "decay mask over ", numel, " elements");
  std::vector<DecayRange> sorted = ranges;
  std::sort(sorted.begin(), sorted.end(),
            [](const DecayRange& a, const DecayRange& b) { return a.offset < b.offset; });
  int64_t covered = 0;  // end of the previous range
  for (const DecayRange& r : sorted) {
    AUGUR_ARG_CHECK(r.offset >= 0 && r.count >= 0 && r.offset + r.count <= numel, "decay range [",
                    r.offset, ", ", r.offset + r.count, ") lies outside the arena of ", numel,
                    " elements");
    AUGUR_ARG_CHECK(r.offset >= covered, "decay range [", r.offset, ", ", r.offset + r.count,
                    ") overlaps one ending at ", covered);
    if (r.count > 0) covered = r.offset + r.count;
    if (r.decay || r.count == 0) continue;
    if (!excluded_.empty() && excluded_.back() == r.offset)
      excluded_.back() = r.offset + r.count;  // merge with the adjacent excluded range
    else {
      excluded_.push_back(r.offset);
      excluded_.push_back(r.offset + r.count);
    }
  }
}

bool DecayMask::decays(int64_t index) const {
  // First interval whose end is past the index.
  const int64_t n = excluded_intervals();
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    const int64_t mid = (lo + hi) / 2;
    if (excluded_[2 * mid + 1] <= index)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo == n || index < excluded_[2 * lo];
}

Optimizer::Optimizer(const OptimizerConfig& config, LrSchedule schedule, DecayMask mask,
                     const Device& device, const Stream& stream, DType dtype)
    : config_(config),
      schedule_(std::move(schedule)),
      mask_(std::move(mask)),
      device_(device),
      dtype_(dtype) {
  config_.validate();
  last_step_ = step_scalars(config_, schedule_.lr(0), 0);
  AUGUR_ARG_CHECK(dtype == DType::F32 || (dtype == DType::F64 && device.is_cpu()),
                  "optimizer arenas of dtype ", dtype_name(dtype), " on ", device.str(),
                  " (expected f32, or f64 on CPU)");
  const Shape shape{mask_.numel()};
  for (int i = 0; i < config_.state_arenas(); ++i)
    state_[i] = Tensor::zeros(shape, dtype, device, stream);
  const int64_t intervals = mask_.excluded_intervals();
  if (intervals > 0) {
    table_ = Tensor::empty(Shape{intervals, 2}, DType::I64, device, &stream);
    const TensorView host(const_cast<int64_t*>(mask_.excluded().data()), DType::I64, Device::cpu(),
                          Shape{intervals, 2});
    copy(table_, host, stream);
    stream.synchronize();  // the host table must outlive the copy
  }
}

void Optimizer::check_arena(const char* op, const TensorView& v, const char* what) const {
  AUGUR_ARG_CHECK((!v.empty() || mask_.numel() == 0) && v.numel() == mask_.numel() &&
                      v.dtype() == dtype_ && v.device() == device_,
                  op, ": ", what, " ", v.str(), " is not an arena of ", mask_.numel(), " ",
                  dtype_name(dtype_), " on ", device_.str());
}

kernels::PredictScalars Optimizer::scalars_for(const PredictRequest& request,
                                               int64_t steps_done) const {
  AUGUR_ARG_CHECK(!request.out.empty() || mask_.numel() == 0,
                  "predict: no buffer for the predicted weights");
  return predictor_scalars(request.predictor, config_, schedule_, steps_done, request.horizon);
}

void Optimizer::step(const TensorView& weights, const TensorView& grads, const Stream& stream,
                     const PredictRequest* predict, bool zero_grads, int staleness,
                     const TensorView& weights_copy) {
  check_arena("optimizer step", weights, "weights");
  check_arena("optimizer step", grads, "gradients");
  kernels::StepScalars s = step_scalars(config_, schedule_.lr(steps_done_), steps_done_, staleness);
  s.zero_grads = zero_grads;
  const kernels::PredictScalars p =
      predict ? scalars_for(*predict, steps_done_ + 1) : kernels::PredictScalars{};
  kernels::optimizer_step(weights, grads, state(0), state(1), no_decay_table(),
                          predict ? predict->out : TensorView(), s, p, stream, weights_copy);
  last_step_ = s;
  ++steps_done_;
}

void Optimizer::predict(const TensorView& weights, const TensorView& grads,
                        const PredictRequest& request, const Stream& stream) const {
  check_arena("optimizer predict", weights, "weights");
  const kernels::PredictScalars p = scalars_for(request, steps_done_);
  const bool needs_grads = p.form == kernels::PredictForm::Affine && (p.cg[0] != 0 || p.cg[1] != 0);
  if (needs_grads) {
    AUGUR_ARG_CHECK(!grads.empty(), "predictor ", predictor_name(request.predictor),
                    " needs the gradient of the last step: run that step with zero_grads = false "
                    "and pass the gradient arena");
    check_arena("optimizer predict", grads, "gradients");
  }
  kernels::predict_weights(weights, needs_grads ? grads : TensorView(), state(0), state(1),
                           no_decay_table(), request.out, last_step_, p, stream);
}

void Optimizer::set_steps_done(int64_t steps) {
  AUGUR_ARG_CHECK(steps >= 0, "optimizer restored to ", steps, " steps");
  steps_done_ = steps;
  if (steps > 0) last_step_ = step_scalars(config_, schedule_.lr(steps - 1), steps - 1);
}

TensorView Optimizer::state(int index) const {
  AUGUR_ARG_CHECK(index == 0 || index == 1, "optimizer state ", index, " does not exist");
  return state_[index].view();
}

}  // namespace augur::optim
