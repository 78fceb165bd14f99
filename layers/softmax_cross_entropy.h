// The loss at the end of the last stage: softmax cross-entropy averaged over the
// micro-batch, with optional label smoothing, its gradient computed in the same pass.
#pragma once

#include "runtime/stream.h"
#include "runtime/tensor.h"

namespace augur {

class SoftmaxCrossEntropy {
 public:
  explicit SoftmaxCrossEntropy(double label_smoothing = 0.0);

  // Returns the loss ([1] on the logits' device) and writes d loss / d logits into
  // `dlogits` (allocated here).
  Tensor forward_backward(const TensorView& logits, const TensorView& labels, Tensor* dlogits,
                          const Stream& stream) const;
  // The loss alone (evaluation).
  Tensor loss(const TensorView& logits, const TensorView& labels, const Stream& stream) const;
  double label_smoothing() const { return smoothing_; }

 private:
  double smoothing_;
};

}  // namespace augur
