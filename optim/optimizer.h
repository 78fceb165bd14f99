// The optimizer of one pipeline stage: owns the state arenas (momentum, or AdamW's moments) of
// the stage's flat parameter arena, counts its steps, and runs the fused update-and-predict
// kernel (kernels/optimizer_update.h) with coefficients from the schedule and the predictor.
//
// Weight decay applies to every element except the ranges the layer code marks as excluded
// (BatchNorm weights and biases, biases): the arena is described as (offset, count, decay)
// ranges; elements no range covers decay, as every parameter does in PyTorch unless it is put
// in a group without decay.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/decay_range.h"
#include "optim/lr_schedule.h"
#include "optim/optimizer_config.h"
#include "optim/predictor.h"
#include "runtime/stream.h"
#include "runtime/tensor.h"

namespace augur::optim {

using augur::DecayRange;

class DecayMask {
 public:
  DecayMask() = default;  // an empty arena
  // Every element decays.
  static DecayMask all(int64_t numel) { return DecayMask(numel, {}); }
  // Ranges lie in [0, numel) and do not overlap (any order); throws naming the culprit.
  DecayMask(int64_t numel, const std::vector<DecayRange>& ranges);

  int64_t numel() const { return numel_; }
  bool decays(int64_t index) const;
  // Excluded intervals, sorted and merged, flattened as begin0, end0, begin1, end1, ...: the
  // kernels' no-decay table.
  const std::vector<int64_t>& excluded() const { return excluded_; }
  int64_t excluded_intervals() const { return static_cast<int64_t>(excluded_.size() / 2); }

 private:
  int64_t numel_ = 0;
  std::vector<int64_t> excluded_;
};

// A prediction to write: the weights `horizon` steps ahead, into `out` (the arena's element
// count, f32 or bf16, on the arena's device).
struct PredictRequest {
  Predictor predictor = Predictor::None;
  int64_t horizon = 0;
  TensorView out;
};

class Optimizer {
 public:
  // State arenas of `dtype` (the weights' dtype: f32, or f64 on CPU) are allocated on
  // `device` and zeroed on `stream`.
  Optimizer(const OptimizerConfig& config, LrSchedule schedule, DecayMask mask,
            const Device& device, const Stream& stream, DType dtype = DType::F32);

  // One step over the arenas (`weights` and `grads`: f32, or f64 on CPU, mask.numel()
  // elements): updates the weights and the state and zeroes the gradients (unless
  // `zero_grads` is false), and with `predict` also writes the predicted weights in the same
  // pass, from the post-step state.
  // `staleness`: how many steps late the gradients arrive (read by spike compensation).
  // `weights_copy` (bf16, or empty): also receives the updated weights rounded to bf16, in the
  // same pass (bf16 mode's compute copy).
  void step(const TensorView& weights, const TensorView& grads, const Stream& stream,
            const PredictRequest* predict = nullptr, bool zero_grads = true, int staleness = 0,
            const TensorView& weights_copy = TensorView());

  // Predict-only, from the current state, for a horizon other than the one fused into the
  // step. Linear and constant-gradient (SGD) read the gradient of the last step, so `grads`
  // must still hold it: run that step with zero_grads = false, and zero the gradients after
  // (buffer zero or a memset). Otherwise `grads` may be an empty view.
  void predict(const TensorView& weights, const TensorView& grads, const PredictRequest& request,
               const Stream& stream) const;

  int64_t steps_done() const { return steps_done_; }
  // For a checkpoint restore (restore the state arenas as well).
  void set_steps_done(int64_t steps);
  // The learning rate the next step will use.
  double next_lr() const { return schedule_.lr(steps_done_); }

  const OptimizerConfig& config() const { return config_; }
  const LrSchedule& schedule() const { return schedule_; }
  const DecayMask& mask() const { return mask_; }
  // 0: SGD momentum or AdamW first moment; 1: AdamW second moment. Empty views when unused.
  TensorView state(int index) const;
  TensorView no_decay_table() const { return table_.view(); }

 private:
  void check_arena(const char* op, const TensorView& v, const char* what) const;
  kernels::PredictScalars scalars_for(const PredictRequest& request, int64_t steps_done) const;

  OptimizerConfig config_;
  LrSchedule schedule_;
  DecayMask mask_;
  Device device_;
  DType dtype_;
  Tensor state_[2];
  Tensor table_;
  int64_t steps_done_ = 0;
  kernels::StepScalars last_step_;
};

}  // namespace augur::optim
