#include "pipeline/loss_head.h"

#include "kernels/accuracy.h"
#include "kernels/elementwise.h"

namespace augur {

namespace {
Tensor counts_of(const TensorView& logits, const TensorView& labels, const Stream& stream) {
  Tensor counts = Tensor::zeros(Shape{2}, DType::I64, stream.device(), stream);
  kernels::accuracy_topk(logits, labels, counts, 5, stream);
  return counts;
}

LossFigures to_host(const Tensor& loss, const Tensor& counts, int64_t samples,
                    const Stream& stream) {
  LossFigures f;
  int64_t c[2] = {0, 0};
  copy(TensorView(&f.loss, DType::F32, Device::cpu(), Shape{1}), loss, stream);
  copy(TensorView(c, DType::I64, Device::cpu(), Shape{2}), counts, stream);
  stream.synchronize();
  f.samples = samples;
  f.top1 = c[0];
  f.top5 = c[1];
  return f;
}
}  // namespace

LossOnDevice LossHead::train(const TensorView& logits, const TensorView& labels,
                             double gradient_scale, Tensor* dlogits, const Stream& stream) const {
  LossOnDevice out;
  out.loss = loss_.forward_backward(logits, labels, dlogits, stream);
  if (gradient_scale != 1.0) kernels::scale(*dlogits, gradient_scale, stream);
  out.counts = counts_of(logits, labels, stream);
  out.samples = labels.numel();
  if (stream.device().is_cuda()) {
    out.ready = std::make_shared<Event>(stream.device());
    out.ready->record(stream);
  }
  return out;
}

LossFigures LossHead::evaluate(const TensorView& logits, const TensorView& labels,
                               const Stream& stream) const {
  const Tensor loss = loss_.loss(logits, labels, stream);
  const Tensor counts = counts_of(logits, labels, stream);
  return to_host(loss, counts, labels.numel(), stream);
}

LossFigures LossHead::read(const LossOnDevice& d, const Stream& reader) {
  if (!d.ready) return to_host(d.loss, d.counts, d.samples, Stream::cpu());
  AUGUR_ARG_CHECK(reader.device() == d.loss.device(), "loss figures on ", d.loss.device().str(),
                  " read on a stream of ", reader.device().str());
  d.ready->wait(reader);
  return to_host(d.loss, d.counts, d.samples, reader);
}

}  // namespace augur
