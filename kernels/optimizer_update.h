// The optimizer over a stage's flat arenas: one fused pass that updates the weights and the
// optimizer state, zeroes the gradients and (optionally) writes the predicted weights, and a
// predict-only pass for other horizons. The math is in kernels/optimizer_math.h; the
// coefficients come from optim/ (which knows the schedule and the predictors).
//
// Views (all rank-1 or any shape, compared by element count; f32, or f64 on CPU):
//   weights    the master weights, updated in place
//   grads      the raw gradients (weight decay is applied by the kernel); zeroed by the step
//              when step.zero_grads. predict_weights reads them only when a coefficient cg is
//              non-zero (linear and constant-gradient predictors), else they may be empty.
//   state1     SGD momentum buffer (empty allowed without momentum) / AdamW first moment
//   state2     AdamW second moment (empty for SGD)
//   no_decay   I64 [R, 2]: sorted, disjoint intervals [begin, end) of elements excluded from
//              weight decay (BatchNorm and bias parameters), or empty. A table rather than a
//              per-element mask: it costs no bandwidth, and each thread walks it with a
//              cursor (DecayCursor), so the hot loop pays a compare per element.
//   predicted  empty (no prediction), or the buffer for w_hat: same element count, the
//              weights' dtype or bf16 (the performance path). Never aliases the weights.
//   weights_copy  optimizer_step only: empty, or a bf16 buffer that receives the updated
//              f32 weights rounded to nearest even in the same pass (bf16 mode's compute
//              copy, design section 6), so no second pass over the arena makes it.
// `predict` for optimizer_step describes the prediction made from the post-step state; for
// predict_weights, `step` is the step that produced the current state (AdamW needs its bias
// corrections to recover the direction).
#pragma once

#include "kernels/optimizer_math.h"
#include "runtime/stream.h"
#include "runtime/tensor.h"

namespace augur::kernels {

#define AUGUR_OPTIMIZER_SIGNATURES                                                          \
  void optimizer_step(const TensorView& weights, const TensorView& grads,                   \
                      const TensorView& state1, const TensorView& state2,                   \
                      const TensorView& no_decay, const TensorView& predicted,              \
                      const StepScalars& step, const PredictScalars& predict,               \
                      const Stream& stream, const TensorView& weights_copy = TensorView()); \
  void predict_weights(                                                                     \
      const TensorView& weights, const TensorView& grads, const TensorView& state1,         \
      const TensorView& state2, const TensorView& no_decay, const TensorView& predicted,    \
      const StepScalars& step, const PredictScalars& predict, const Stream& stream);

namespace cpu {
AUGUR_OPTIMIZER_SIGNATURES
}
namespace cuda {
AUGUR_OPTIMIZER_SIGNATURES
}
AUGUR_OPTIMIZER_SIGNATURES

#undef AUGUR_OPTIMIZER_SIGNATURES

namespace detail {

// Which arenas a pass reads and writes, after its arguments were checked.
struct OptimizerAccess {
  bool read_grads = false, zero_grads = false;
  bool read_state1 = false, write_state1 = false;
  bool read_state2 = false, write_state2 = false;
  bool write_predicted = false;
  bool write_copy = false;  // optimizer_step's bf16 weights_copy
};

// Checks the views of optimizer_step (predict_only = false) or predict_weights against each
// other and the scalars; throws naming the op and the offending view. `allow_f64` for the CPU.
OptimizerAccess check_optimizer_args(const char* op, bool predict_only, const TensorView& weights,
                                     const TensorView& grads, const TensorView& state1,
                                     const TensorView& state2, const TensorView& no_decay,
                                     const TensorView& predicted, const StepScalars& step,
                                     const PredictScalars& predict, bool allow_f64);

// Checks optimizer_step's weights_copy (empty, or bf16 of the f32 weights' size, aliasing
// neither the weights nor the prediction) and sets acc->write_copy.
void check_weights_copy(const TensorView& weights, const TensorView& predicted,
                        const TensorView& weights_copy, OptimizerAccess* acc);

}  // namespace detail
}  // namespace augur::kernels
