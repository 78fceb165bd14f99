// BatchNorm2d with PyTorch's semantics (eps 1e-5, momentum 0.1, unbiased running variance),
// optionally fused with ReLU, or with a residual add + ReLU (the end of a ResNet block).
// Training always normalises with the micro-batch's statistics; the running statistics
// update per micro-batch (BnStatsMode::Micro) or once per mini-batch from the merged
// statistics of its micro-batches (BnStatsMode::Deferred, applied by finish_minibatch).
//
// State arena entries: running_mean, running_var, num_batches_tracked (a counter kept as one
// f32 element: exact to 2^24 updates; exported as PyTorch's 0-rank I64) and, not exported,
// the deferred accumulator [3, C] (count, mean, M2 per channel).
#pragma once

#include "kernels/batchnorm.h"
#include "layers/layer.h"

namespace augur {

class BatchNorm2d : public Layer {
 public:
  BatchNorm2d(std::string name, int channels,
              kernels::BnActivation act = kernels::BnActivation::None, double eps = 1e-5,
              double momentum = 0.1);

  void declare(ArenaLayout& params, ArenaLayout& state) override;
  Shape output_shape(const Shape& input) const override;
  TensorView forward(const Pass& pass, Saved& saved, const TensorView& x) override;
  Tensor backward(const Pass& pass, Saved& saved, const TensorView& dy,
                  bool need_input_grad) override;
  void finish_minibatch(const Pass& pass) override;

  // y = act(bn(x) + residual): the fused end of a residual block (residual may be empty).
  TensorView forward_fused(const Pass& pass, Saved& saved, const TensorView& x,
                           const TensorView& residual);
  // Backward of forward_fused; `dresidual`, when not null, receives the gradient of the
  // residual input (allocated here).
  Tensor backward_fused(const Pass& pass, Saved& saved, const TensorView& dy, bool need_input_grad,
                        Tensor* dresidual);

  const ArenaEntry& gamma() const { return gamma_; }
  const ArenaEntry& beta() const { return beta_; }
  const ArenaEntry& running_mean() const { return running_mean_; }
  const ArenaEntry& running_var() const { return running_var_; }
  const ArenaEntry& num_batches_tracked() const { return batches_; }

 private:
  int channels_;
  kernels::BnActivation act_;
  double eps_, momentum_;
  ArenaEntry gamma_, beta_, running_mean_, running_var_, batches_, deferred_;
};

}  // namespace augur
