#include "layers/softmax_cross_entropy.h"

#include "kernels/softmax_xent.h"

namespace augur {

namespace {
// The loss is f32 when the logits are bf16: a mean over the batch, not a stored activation.
DType loss_dtype(const TensorView& logits) {
  return logits.dtype() == DType::BF16 ? DType::F32 : logits.dtype();
}
}  // namespace

SoftmaxCrossEntropy::SoftmaxCrossEntropy(double label_smoothing) : smoothing_(label_smoothing) {
  AUGUR_ARG_CHECK(label_smoothing >= 0 && label_smoothing <= 1,
                  "label smoothing must lie in [0, 1], got ", label_smoothing);
}

Tensor SoftmaxCrossEntropy::forward_backward(const TensorView& logits, const TensorView& labels,
                                             Tensor* dlogits, const Stream& stream) const {
  Tensor loss = Tensor::empty(Shape{1}, loss_dtype(logits), logits.device(), &stream);
  *dlogits = Tensor::empty(logits.shape(), logits.dtype(), logits.device(), &stream);
  kernels::softmax_xent_forward_backward(logits, labels, loss, *dlogits, smoothing_, stream);
  return loss;
}

Tensor SoftmaxCrossEntropy::loss(const TensorView& logits, const TensorView& labels,
                                 const Stream& stream) const {
  Tensor loss = Tensor::empty(Shape{1}, loss_dtype(logits), logits.device(), &stream);
  kernels::softmax_xent_loss(logits, labels, loss, smoothing_, stream);
  return loss;
}

}  // namespace augur
