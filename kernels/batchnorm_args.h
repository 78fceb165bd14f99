// Argument checks of the batch-norm ops, shared by the CPU reference and the CUDA version so
// both refuse exactly the same calls with the same messages (naming the op and the shapes).
#pragma once

#include <cstdint>

#include "kernels/batchnorm.h"

namespace augur::kernels::bn_args {

// An activation [N, H, W, C] seen as `rows` = N*H*W rows of `channels` values.
struct BnDims {
  int64_t rows = 0;
  int64_t channels = 0;
};

// `allow_f64`: the CPU reference also accepts f64; CUDA takes f32 only.
BnDims check_stats(const TensorView& x, const TensorView& mean, const TensorView& invstd,
                   double eps, bool allow_f64);
int64_t check_update_running(const TensorView& mean, const TensorView& invstd, double eps,
                             int64_t count, double momentum, const TensorView& running_mean,
                             const TensorView& running_var, bool allow_f64);
int64_t check_accumulate_stats(const TensorView& mean, const TensorView& invstd, double eps,
                               int64_t count, const TensorView& acc, bool allow_f64);
int64_t check_apply_deferred(const TensorView& acc, double momentum, const TensorView& running_mean,
                             const TensorView& running_var, bool allow_f64);
BnDims check_forward_train(const TensorView& x, const TensorView& gamma, const TensorView& beta,
                           const TensorView& mean, const TensorView& invstd,
                           const TensorView& residual, const TensorView& y, bool allow_f64);
BnDims check_forward_infer(const TensorView& x, const TensorView& gamma, const TensorView& beta,
                           const TensorView& running_mean, const TensorView& running_var,
                           double eps, const TensorView& residual, const TensorView& y,
                           bool allow_f64);
BnDims check_backward(const TensorView& x, const TensorView& y, const TensorView& dy,
                      const TensorView& gamma, const TensorView& mean, const TensorView& invstd,
                      BnActivation act, const TensorView& dx, const TensorView& dgamma,
                      const TensorView& dbeta, const TensorView& dresidual, bool allow_f64);

}  // namespace augur::kernels::bn_args
