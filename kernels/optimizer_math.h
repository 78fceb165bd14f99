// Per-element math of the optimizer kernels (update and weight prediction), shared by the CUDA
// kernels and their CPU references.
//
// What one step does to one element (w weight, g raw gradient, decay: the element is not
// excluded from weight decay):
//   SGD (PyTorch semantics, dampening 0):
//     d = g + wd*w                       (only for decaying elements)
//     v = d on the first step, else mu*v + d      (only with momentum mu != 0)
//     u = d + mu*v with Nesterov, a*v + b*d with spike compensation (a = mu^s and
//         b = (1 - mu^s)/(1 - mu) for a gradient s steps late; optim/optimizer_config.h),
//         else v (or d without momentum)
//     w = w - lr*u
//   AdamW (decoupled decay, bias-corrected):
//     w = w*(1 - lr*wd)                  (only for decaying elements)
//     m = b1*m + (1-b1)*g,  v = b2*v + (1-b2)*g^2   (state not read on the first step)
//     u = m / (sqrt(v)/sqrt(1-b2^t) + eps),  w = w - lr/(1-b1^t) * u
//
// Prediction happens right after a step, from the post-step state: w and v (the momentum
// buffer) after the update, g the raw gradient this step consumed (before weight decay was
// added), and for AdamW the direction u of this step. Every predictor is affine in these:
//   SGD:   w_hat = w + (dw*w + cv*v + cg*g)
//   AdamW: w_hat = w + (dw*w + cv*u)
// with scalar coefficients per decay class that the host derives from the optimizer and the
// learning rates of the steps ahead (optim/predictor.h), so each element costs a few
// multiply-adds whatever the horizon. The displacement is summed before it is added to w,
// so a small step is not lost to the rounding of a coefficient close to 1.
//
// Each multiply and add is rounded separately (no fused multiply-add) on both sides, so the
// CUDA kernels and the CPU reference make the same roundings in the same order.
#pragma once

#include <cmath>
#include <cstdint>

#if AUGUR_WITH_CUDA
#include <cuda_bf16.h>
#endif

#include "kernels/hd.h"

namespace augur::kernels {

enum class UpdateRule : uint8_t { Sgd, AdamW };

// Host description of one optimizer step. The kernels round these once to their arithmetic
// type (step_coeffs below).
struct StepScalars {
  UpdateRule rule = UpdateRule::Sgd;
  // The optimizer state is not read: momentum (SGD) or the moments (AdamW) start from this
  // step's gradient, so the state arenas may hold anything before the first step.
  bool first_step = false;
  bool zero_grads = true;   // the fused step leaves zeros in the gradient arena
  double lr = 0;            // learning rate of this step
  double weight_decay = 0;  // SGD: L2 added to the gradient; AdamW: decoupled
  // SGD
  double momentum = 0;  // 0: no momentum buffer (the state arena is not used)
  bool nesterov = false;
  // Spike compensation: u = spike_velocity*v + spike_gradient*d (Nesterov is the case
  // spike_velocity = mu, spike_gradient = 1). Not with `nesterov`.
  bool spike = false;
  double spike_velocity = 1, spike_gradient = 0;
  // AdamW
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  int64_t adam_step = 1;  // t of this step, counted from 1, for the bias corrections
};

enum class PredictForm : uint8_t {
  Identity,        // w_hat = w (horizon 0, no predictor, or nothing known yet)
  Affine,          // SGD: w_hat = w + (dw*w + cv*v + cg*g)
  AdamWDirection,  // AdamW: w_hat = w + (dw*w + cv*u)
};

// Coefficients of the prediction; index 0 for elements under weight decay, 1 for excluded ones.
struct PredictScalars {
  PredictForm form = PredictForm::Identity;
  double dw[2] = {0, 0};
  double cv[2] = {0, 0};
  double cg[2] = {0, 0};
};

template <class T>
struct StepCoeffs {
  UpdateRule rule;
  // combined: u = ud*d + uv*v (Nesterov, spike compensation); else u = v.
  bool first_step, momentum, combined;
  T lr, wd, mu, ud, uv;                                                                  // SGD
  T keep, beta1, one_minus_beta1, beta2, one_minus_beta2, eps, inv_sqrt_bc2, step_size;  // AdamW
};

template <class T>
struct PredictCoeffs {
  PredictForm form;
  T dw[2], cv[2], cg[2];
};

// Host only: bias corrections and products are formed in double and rounded once.
template <class T>
inline StepCoeffs<T> step_coeffs(const StepScalars& s) {
  StepCoeffs<T> c{};
  c.rule = s.rule;
  c.first_step = s.first_step;
  c.momentum = s.momentum != 0;
  c.combined = s.nesterov || s.spike;
  c.ud = T(s.spike ? s.spike_gradient : 1.0);
  c.uv = T(s.spike ? s.spike_velocity : s.momentum);
  c.lr = T(s.lr);
  c.wd = T(s.weight_decay);
  c.mu = T(s.momentum);
  c.keep = T(1.0 - s.lr * s.weight_decay);
  c.beta1 = T(s.beta1);
  c.one_minus_beta1 = T(1.0 - s.beta1);
  c.beta2 = T(s.beta2);
  c.one_minus_beta2 = T(1.0 - s.beta2);
  c.eps = T(s.eps);
  const double t = static_cast<double>(s.adam_step);
  c.inv_sqrt_bc2 = T(1.0 / std::sqrt(1.0 - std::pow(s.beta2, t)));
  c.step_size = T(s.lr / (1.0 - std::pow(s.beta1, t)));
  return c;
}

template <class T>
inline PredictCoeffs<T> predict_coeffs(const PredictScalars& p) {
  PredictCoeffs<T> c{};
  c.form = p.form;
  for (int k = 0; k < 2; ++k) {
    c.dw[k] = T(p.dw[k]);
    c.cv[k] = T(p.cv[k]);
    c.cg[k] = T(p.cg[k]);
  }
  return c;
}

// Separately rounded arithmetic (see the header comment).
AUGUR_HD float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
AUGUR_HD double mul_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}
AUGUR_HD float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
AUGUR_HD double add_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}
AUGUR_HD float div_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}
AUGUR_HD double div_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __ddiv_rn(a, b);
#else
  return a / b;
#endif
}
AUGUR_HD float sqrt_rn(float a) {
#if defined(__CUDA_ARCH__)
  return __fsqrt_rn(a);
#else
  return std::sqrt(a);
#endif
}
AUGUR_HD double sqrt_rn(double a) {
#if defined(__CUDA_ARCH__)
  return __dsqrt_rn(a);
#else
  return std::sqrt(a);
#endif
}
template <class T>
AUGUR_HD T sub_rn(T a, T b) {
  return add_rn(a, -b);
}

// The grid-stride traversal of the CUDA optimizer kernel: thread t takes the vectors t, t + T,
// t + 2T, ... of V elements, then the one element n - n % V + t if that is below n. The first
// index it visits is where its decay cursor must start: a thread with no whole vector goes
// straight to its tail element, which lies below t * V (starting the cursor at t * V skipped
// the tail element's interval; the GPU validation of 2026-11-25 caught it).
AUGUR_HD int64_t grid_stride_first_index(int64_t thread, int64_t n, int64_t vec) {
  const int64_t groups = n / vec;
  return thread < groups ? thread * vec : groups * vec + thread;
}

// Walks the table of intervals [begin, end) excluded from weight decay (sorted, disjoint,
// flattened as begin0, end0, begin1, ...). Queries must come in non-decreasing index order, as
// they do in a grid-stride loop and in a CPU chunk, so each costs a compare or two.
struct DecayCursor {
  static constexpr int64_t kNone = INT64_MAX;

  AUGUR_HD DecayCursor(const int64_t* table, int64_t count, int64_t first_index)
      : table_(table), count_(count) {
    int64_t lo = 0, hi = count;  // first interval with end > first_index
    while (lo < hi) {
      const int64_t mid = (lo + hi) / 2;
      if (table[2 * mid + 1] <= first_index)
        lo = mid + 1;
      else
        hi = mid;
    }
    next_ = lo;
    load();
  }
  AUGUR_HD bool decays(int64_t index) {
    while (index >= end_) {
      ++next_;
      load();
    }
    return index < begin_;
  }
  // One past the last index that shares the flag of `index` (the last query).
  AUGUR_HD int64_t run_end(int64_t index) const { return index < begin_ ? begin_ : end_; }

 private:
  AUGUR_HD void load() {
    if (next_ < count_) {
      begin_ = table_[2 * next_];
      end_ = table_[2 * next_ + 1];
    } else {
      begin_ = end_ = kNone;
    }
  }
  const int64_t* table_;
  int64_t count_;
  int64_t next_ = 0;
  int64_t begin_ = kNone, end_ = kNone;
};

template <class T>
AUGUR_HD void sgd_element(T& w, T g, T& v, bool decay, const StepCoeffs<T>& c) {
  const T d = decay ? add_rn(g, mul_rn(c.wd, w)) : g;
  T u = d;
  if (c.momentum) {
    v = c.first_step ? d : add_rn(mul_rn(c.mu, v), d);
    // ud = 1 for Nesterov: the product is d exactly, so the rounding is Nesterov's own.
    u = c.combined ? add_rn(mul_rn(c.ud, d), mul_rn(c.uv, v)) : v;
  }
  w = sub_rn(w, mul_rn(c.lr, u));
}

template <class T>
AUGUR_HD T adamw_direction(T m, T v, const StepCoeffs<T>& c) {
  return div_rn(m, add_rn(mul_rn(sqrt_rn(v), c.inv_sqrt_bc2), c.eps));
}

// Returns the direction u of the step.
template <class T>
AUGUR_HD T adamw_element(T& w, T g, T& m, T& v, bool decay, const StepCoeffs<T>& c) {
  if (decay) w = mul_rn(w, c.keep);
  const T mg = mul_rn(c.one_minus_beta1, g);
  const T vg = mul_rn(c.one_minus_beta2, mul_rn(g, g));
  m = c.first_step ? mg : add_rn(mul_rn(c.beta1, m), mg);
  v = c.first_step ? vg : add_rn(mul_rn(c.beta2, v), vg);
  const T u = adamw_direction(m, v, c);
  w = sub_rn(w, mul_rn(c.step_size, u));
  return u;
}

// w_hat = w + (dw*w + cv*v + cg*g); for AdamW v is the direction u and g is 0.
template <class T>
AUGUR_HD T predict_element(T w, T v, T g, bool decay, const PredictCoeffs<T>& p) {
  if (p.form == PredictForm::Identity) return w;
  const int k = decay ? 0 : 1;
  T t = mul_rn(p.cg[k], g);
  t = add_rn(mul_rn(p.cv[k], v), t);
  t = add_rn(mul_rn(p.dw[k], w), t);
  return add_rn(w, t);
}

// One element of the fused kernel, in registers: updates w and the state s1 (SGD momentum or
// AdamW m) and s2 (AdamW v), and returns the predicted weight. State not in use reads as 0.
template <class T>
AUGUR_HD T step_and_predict_element(T& w, T g, T& s1, T& s2, bool decay, const StepCoeffs<T>& c,
                                    const PredictCoeffs<T>& p) {
  if (c.rule == UpdateRule::Sgd) {
    sgd_element(w, g, s1, decay, c);
    return predict_element(w, s1, g, decay, p);
  }
  const T u = adamw_element(w, g, s1, s2, decay, c);
  return predict_element(w, u, T(0), decay, p);
}

// Prediction alone, from the post-step state and the step's coefficients (for AdamW's
// direction); gives exactly what the fused kernel gives for the same inputs.
template <class T>
AUGUR_HD T predict_only_element(T w, T g, T s1, T s2, bool decay, const StepCoeffs<T>& c,
                                const PredictCoeffs<T>& p) {
  if (c.rule == UpdateRule::Sgd) return predict_element(w, s1, g, decay, p);
  if (p.form == PredictForm::Identity) return w;
  return predict_element(w, adamw_direction(s1, s2, c), T(0), decay, p);
}

template <class P, class T>
AUGUR_HD P store_as(T x) {
  return P(x);
}
// bf16 storage rounds to nearest even: CUDA's type on the device; the CPU reference stores
// its host twin (runtime/bf16.h) with the same rounding (kernels/optimizer_update.cpp).
#if AUGUR_WITH_CUDA
template <>
AUGUR_HD __nv_bfloat16 store_as<__nv_bfloat16, float>(float x) {
  return __float2bfloat16(x);
}
#endif

}  // namespace augur::kernels
