// Batch normalisation over NHWC activations (BatchNorm2d), with PyTorch's semantics, and its
// fusions with ReLU and with a residual add + ReLU (the end of every ResNet block).
//
// Shapes: x, y, dy, dx, residual, dresidual are [N, H, W, C]; gamma, beta, mean, invstd,
// running_mean, running_var are [C]; statistics run over the N*H*W values of each channel.
// All views share one dtype: f32 (CUDA and CPU) or f64 (CPU only, for gradient checks).
//
// Training normalises with the micro-batch's own statistics:
//   batchnorm_stats          -> mean, invstd = 1 / sqrt(biased var + eps)  (saved for backward)
//   batchnorm_forward_train  -> y = act(gamma * (x - mean) * invstd + beta [+ residual])
//   batchnorm_backward       -> dx (overwritten), dgamma and dbeta (accumulated, +=),
//                               dresidual (overwritten)
// Running statistics follow PyTorch (momentum m, default 0.1):
//   running_mean <- (1 - m) running_mean + m mean
//   running_var  <- (1 - m) running_var  + m var * count / (count - 1)   (unbiased)
// and are updated by one of two policies, both outside the normalisation itself:
//   micro:    batchnorm_update_running after each micro-batch's stats;
//   deferred: batchnorm_accumulate_stats after each micro-batch, then one
//             batchnorm_apply_deferred per mini-batch. The accumulator merges the micro-batches
//             exactly (Chan's parallel rule on count, mean and M2), so the update equals the
//             one PyTorch would make with the whole mini-batch in a single BatchNorm2d call:
//             the mean and the unbiased variance of all N*H*W*M values. torchgpipe's deferred
//             batch norm applies the same once-per-mini-batch rule but with the biased
//             variance; Augur keeps PyTorch's unbiased one so that M = 1 equals `micro`.
// Training needs more than one value per channel (as in PyTorch).
#pragma once

#include <cstdint>

#include "runtime/stream.h"
#include "runtime/tensor.h"

namespace augur::kernels {

enum class BnActivation { None, Relu };

#define AUGUR_BATCHNORM_SIGNATURES                                                              \
  /* mean[c] and invstd[c] of x's channels (biased variance, computed stably). */               \
  void batchnorm_stats(const TensorView& x, const TensorView& mean, const TensorView& invstd,   \
                       double eps, const Stream& stream);                                       \
  /* `micro` policy: one running-statistics update from a micro-batch of `count` (= N*H*W)      \
     values per channel whose stats are mean, invstd (as batchnorm_stats wrote them). */        \
  void batchnorm_update_running(const TensorView& mean, const TensorView& invstd, double eps,   \
                                int64_t count, double momentum, const TensorView& running_mean, \
                                const TensorView& running_var, const Stream& stream);           \
  /* `deferred` policy: merges a micro-batch's stats into acc, a [3, C] accumulator holding     \
     per channel the count, mean and M2 (sum of squared deviations) seen so far. acc starts     \
     zeroed (Tensor::zeros) and batchnorm_apply_deferred zeroes it again. */                    \
  void batchnorm_accumulate_stats(const TensorView& mean, const TensorView& invstd, double eps, \
                                  int64_t count, const TensorView& acc, const Stream& stream);  \
  /* `deferred` policy: one running-statistics update from everything in acc, then clears acc.  \
     A channel with nothing accumulated (count 0) keeps its running statistics. */              \
  void batchnorm_apply_deferred(const TensorView& acc, double momentum,                         \
                                const TensorView& running_mean, const TensorView& running_var,  \
                                const Stream& stream);                                          \
  /* y = act(gamma * (x - mean) * invstd + beta [+ residual]); residual may be empty (none).    \
     y may alias x or residual (elementwise), but backward needs x, so alias x only when no     \
     backward follows. */                                                                       \
  void batchnorm_forward_train(const TensorView& x, const TensorView& gamma,                    \
                               const TensorView& beta, const TensorView& mean,                  \
                               const TensorView& invstd, const TensorView& residual,            \
                               BnActivation act, const TensorView& y, const Stream& stream);    \
  /* Inference: as forward_train with mean = running_mean, invstd = 1/sqrt(running_var + eps).  \
     Same aliasing rules. */                                                                    \
  void batchnorm_forward_infer(                                                                 \
      const TensorView& x, const TensorView& gamma, const TensorView& beta,                     \
      const TensorView& running_mean, const TensorView& running_var, double eps,                \
      const TensorView& residual, BnActivation act, const TensorView& y, const Stream& stream); \
  /* Backward of batchnorm_stats + batchnorm_forward_train. y (the saved output) is read only   \
     for act = Relu (its mask, y > 0) and may be empty otherwise. With g = masked dy:           \
       dbeta += sum g, dgamma += sum g * xhat                        (accumulate)               \
       dx = gamma * invstd * (g - mean(g) - xhat * mean(g * xhat))  (overwrite)                 \
       dresidual = g, if dresidual is not empty                      (overwrite)                \
     dx and dresidual may alias dy (not each other); none may alias x or y. */                  \
  void batchnorm_backward(const TensorView& x, const TensorView& y, const TensorView& dy,       \
                          const TensorView& gamma, const TensorView& mean,                      \
                          const TensorView& invstd, BnActivation act, const TensorView& dx,     \
                          const TensorView& dgamma, const TensorView& dbeta,                    \
                          const TensorView& dresidual, const Stream& stream);

namespace cpu {
AUGUR_BATCHNORM_SIGNATURES
}
namespace cuda {
AUGUR_BATCHNORM_SIGNATURES
}
AUGUR_BATCHNORM_SIGNATURES

#undef AUGUR_BATCHNORM_SIGNATURES

}  // namespace augur::kernels
