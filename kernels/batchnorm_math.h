// Per-element and per-channel math of batch normalisation, shared by the CUDA kernels and
// their CPU references so both evaluate the very same expressions.
#pragma once

#include <math.h>

#include "kernels/elementwise_math.h"
#include "kernels/hd.h"

namespace augur::kernels {

// Count, mean and sum of squared deviations (M2) of a set of values. Merging two such
// summaries (Chan, Golub & LeVeque) never forms E[x^2] - E[x]^2, so the variance keeps its
// accuracy when |mean| >> standard deviation. {0, 0, 0} is the empty set.
template <class T>
struct MomentSummary {
  T n;
  T mean;
  T m2;
};

template <class T>
AUGUR_HD MomentSummary<T> merge_moments(const MomentSummary<T>& a, const MomentSummary<T>& b) {
  const T n = a.n + b.n;
  if (n == T(0)) return a;
  const T delta = b.mean - a.mean;
  const T frac_b = b.n / n;
  return {n, a.mean + delta * frac_b, a.m2 + b.m2 + delta * delta * a.n * frac_b};
}

AUGUR_HD float bn_sqrt(float v) {
  return sqrtf(v);
}
AUGUR_HD double bn_sqrt(double v) {
  return sqrt(v);
}

// The factor normalisation multiplies by: 1 / sqrt(biased variance + eps).
template <class T>
AUGUR_HD T bn_invstd(T var, T eps) {
  return T(1) / bn_sqrt(var + eps);
}

// The biased variance behind a saved invstd. Only var + eps is recovered to working precision
// (when var << eps the difference loses digits), which is all that inference uses.
template <class T>
AUGUR_HD T bn_var_from_invstd(T invstd, T eps) {
  const T var = T(1) / (invstd * invstd) - eps;
  return var > T(0) ? var : T(0);
}

// The unbiased variance (Bessel's correction) that running_var tracks, from the sum of squared
// deviations M2 of `count` values, or from their biased variance (M2 = var * count).
template <class T>
AUGUR_HD T bn_unbiased_from_m2(T m2, T count) {
  return m2 / (count - T(1));
}
template <class T>
AUGUR_HD T bn_unbiased_var(T var, T count) {
  return bn_unbiased_from_m2(var * count, count);
}

// PyTorch's exponential moving average: running <- (1 - m) running + m batch.
template <class T>
AUGUR_HD T bn_running_update(T running, T batch, T momentum) {
  return (T(1) - momentum) * running + momentum * batch;
}

// y = act(gamma * (x - mean) * invstd + beta [+ residual]); pass residual = 0 for none.
template <class T>
AUGUR_HD T bn_output(T x, T mean, T invstd, T gamma, T beta, T residual, bool relu) {
  const T v = gamma * ((x - mean) * invstd) + beta + residual;
  return relu ? relu_value(v) : v;
}

// The gradient reaching the normalised value: dy, masked by the fused ReLU's output.
template <class T>
AUGUR_HD T bn_masked_grad(T y, T dy, bool relu) {
  return relu ? relu_grad_from_output(y, dy) : dy;
}

// dx = gamma * invstd * (g - mean(g) - xhat * mean(g * xhat)) with xhat = (x - mean) * invstd;
// mean_g = sum(g) / n and mean_gxc = sum(g * (x - mean)) / n over the channel.
template <class T>
AUGUR_HD T bn_input_grad(T g, T x, T mean, T invstd, T gamma, T mean_g, T mean_gxc) {
  return gamma * invstd * (g - mean_g - (x - mean) * (invstd * invstd * mean_gxc));
}

}  // namespace augur::kernels
