// The last stage's loss: softmax cross-entropy with its gradient and the top-1/top-5 counts,
// on the stage's device. Training leaves the figures on the device (`LossOnDevice`) so the
// stage never waits for them; whoever needs them on the host reads them after `ready`.
#pragma once

#include <cstdint>
#include <memory>

#include "layers/softmax_cross_entropy.h"
#include "runtime/stream.h"
#include "runtime/tensor.h"

namespace augur {

struct LossOnDevice {
  Tensor loss;    // [1] f32: mean loss over the micro-batch
  Tensor counts;  // [2] i64: top-1 and top-5 correct
  int64_t samples = 0;
  std::shared_ptr<Event> ready;  // null on the CPU (the values are there already)
};

struct LossFigures {
  float loss = 0;  // mean over the samples
  int64_t samples = 0, top1 = 0, top5 = 0;
};

class LossHead {
 public:
  explicit LossHead(double label_smoothing) : loss_(label_smoothing) {}

  // Training: the loss, its gradient into `dlogits` scaled by `gradient_scale`, the counts.
  LossOnDevice train(const TensorView& logits, const TensorView& labels, double gradient_scale,
                     Tensor* dlogits, const Stream& stream) const;
  // Evaluation: the loss alone and the counts, read back to the host.
  LossFigures evaluate(const TensorView& logits, const TensorView& labels,
                       const Stream& stream) const;

  // Host copies of figures left on the device, read on `reader` (a stream of the reader's own
  // on that device, so the stage that made them never waits; ignored on the CPU).
  static LossFigures read(const LossOnDevice& on_device, const Stream& reader);

 private:
  SoftmaxCrossEntropy loss_;
};

}  // namespace augur
