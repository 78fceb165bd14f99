// Per-row math of softmax cross-entropy and top-k accuracy, shared by CUDA and CPU.
//
// With m = max_j z_j, shifted logits d_j = z_j - m <= 0 and s = sum_j exp(d_j) in [1, C]:
//   log softmax_j = d_j - log s                       (no overflow; s >= 1, so no log(0))
//   target t_j    = (1 - eps) [j == y] + eps / C      (PyTorch's label smoothing)
//   loss          = sum_j t_j (log s - d_j) = log s - (1 - eps) d_y - (eps / C) sum_j d_j
//   dloss/dz_j    = (exp(d_j) / s - t_j) / N          (for the batch mean)
// Working with d instead of z keeps the loss free of cancellation between terms of the
// logits' magnitude (logits of 1e4 lose nothing).
#pragma once

#include <math.h>
#include <stdint.h>

#include "kernels/hd.h"

namespace augur::kernels {

AUGUR_HD float xent_exp(float x) {
  return expf(x);
}
AUGUR_HD double xent_exp(double x) {
  return exp(x);
}
AUGUR_HD float xent_log(float x) {
  return logf(x);
}
AUGUR_HD double xent_log(double x) {
  return log(x);
}

// `sum_shifted` = sum_j d_j is only used when eps > 0 (it may be -inf when a logit is -inf).
template <class T>
AUGUR_HD T xent_row_loss(T sum_exp, T shifted_label, T sum_shifted, T eps, int64_t classes) {
  T loss = xent_log(sum_exp) - (T(1) - eps) * shifted_label;
  if (eps > T(0)) loss -= eps / static_cast<T>(classes) * sum_shifted;
  return loss;
}

// From exp(d_j), which the CPU keeps from the summation pass and the GPU recomputes.
template <class T>
AUGUR_HD T xent_grad(T exp_shifted, T sum_exp, bool is_label, T eps, int64_t classes,
                     int64_t batch) {
  const T target = (is_label ? T(1) - eps : T(0)) + eps / static_cast<T>(classes);
  return (exp_shifted / sum_exp - target) / static_cast<T>(batch);
}

AUGUR_HD bool label_in_range(int64_t label, int64_t classes) {
  return label >= 0 && label < classes;
}

// Top-k rule: the label counts as in the top k when fewer than k logits are strictly greater
// than its own (ties resolve in the label's favour; the rule depends on comparisons alone, so
// CPU and GPU agree exactly). A NaN label logit never counts; NaN elsewhere is never greater.
template <class T>
AUGUR_HD bool topk_logit_greater(T other, T label_logit) {
  return other > label_logit;
}
AUGUR_HD bool topk_hit(bool label_logit_is_nan, int64_t greater, int64_t k) {
  return !label_logit_is_nan && greater < k;
}

}  // namespace augur::kernels
