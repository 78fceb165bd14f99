// Softmax cross-entropy over the classes of each row, averaged over the batch, with optional
// label smoothing (PyTorch's semantics: target = (1 - eps) * onehot + eps / classes). The
// training variant computes the loss and its gradient in one pass; the evaluation variant
// only the loss. Formulas and numerical stability: kernels/softmax_xent_math.h.
//
// logits [N, classes] (f32; f64 on CPU), labels i64 [N], loss [1] of the logits' dtype,
// dlogits of the logits' shape and dtype (overwritten; may alias logits).
//
// Labels outside [0, classes) throw, naming the first bad sample and its label. The CPU
// checks before computing. On GPU the labels live on the device, so the kernels mark the
// first bad sample in device memory and the host reads that mark back after the launch: each
// call therefore synchronises its stream once (a few microseconds of launch latency per
// micro-batch at the last stage; the caller usually reads the loss back anyway). The outputs
// of a call that throws are unspecified (bad rows get a NaN loss, never a wild memory access).
#pragma once

#include "runtime/stream.h"
#include "runtime/tensor.h"

namespace augur::kernels {

#define AUGUR_SOFTMAX_XENT_SIGNATURES                                                      \
  /* loss = mean_i xent(softmax(logits_i), target_i); dlogits = (softmax - target) / N. */ \
  void softmax_xent_forward_backward(const TensorView& logits, const TensorView& labels,   \
                                     const TensorView& loss, const TensorView& dlogits,    \
                                     double label_smoothing, const Stream& stream);        \
  /* The loss alone, for evaluation. */                                                    \
  void softmax_xent_loss(const TensorView& logits, const TensorView& labels,               \
                         const TensorView& loss, double label_smoothing, const Stream& stream);

namespace cpu {
AUGUR_SOFTMAX_XENT_SIGNATURES
}
namespace cuda {
AUGUR_SOFTMAX_XENT_SIGNATURES
}
AUGUR_SOFTMAX_XENT_SIGNATURES

#undef AUGUR_SOFTMAX_XENT_SIGNATURES

namespace detail {
// Argument checks shared by the CPU and CUDA entry points; `dlogits` may be empty (loss only).
void check_softmax_xent(const char* op, const TensorView& logits, const TensorView& labels,
                        const TensorView& loss, const TensorView& dlogits, double label_smoothing,
                        bool allow_f64);
}  // namespace detail

}  // namespace augur::kernels
