#include "kernels/optimizer_update.h"

#include <algorithm>
#include <type_traits>

#include "kernels/cpu_overlap.h"
#include "kernels/dispatch.h"
#include "kernels/profile.h"
#include "runtime/thread_pool.h"

namespace augur::kernels {

namespace detail {

namespace {

bool uses_state1(const StepScalars& s) {
  return s.rule == UpdateRule::AdamW || s.momentum != 0;
}

void check_arena(const char* op, const char* what, const TensorView& v, const TensorView& weights) {
  AUGUR_ARG_CHECK(!v.empty() || weights.numel() == 0, op, ": ", what, " is required here (weights ",
                  weights.str(), ")");
  AUGUR_ARG_CHECK(v.numel() == weights.numel() && v.dtype() == weights.dtype(), op, ": ", what, " ",
                  v.str(), " does not match the weights ", weights.str());
}

}  // namespace

OptimizerAccess check_optimizer_args(const char* op, bool predict_only, const TensorView& weights,
                                     const TensorView& grads, const TensorView& state1,
                                     const TensorView& state2, const TensorView& no_decay,
                                     const TensorView& predicted, const StepScalars& step,
                                     const PredictScalars& predict, bool allow_f64) {
  require_float(op, "weights", weights, allow_f64);
  if (weights.numel() == 0) return {};  // a stage without parameters: nothing to touch
  const bool sgd = step.rule == UpdateRule::Sgd;
  AUGUR_ARG_CHECK(
      predict.form == PredictForm::Identity || (predict.form == PredictForm::Affine) == sgd, op,
      ": the prediction form does not belong to the update rule ", sgd ? "SGD" : "AdamW");
  AUGUR_ARG_CHECK(sgd || (step.adam_step >= 1 && step.beta1 < 1 && step.beta2 < 1), op,
                  ": AdamW needs a step count >= 1 and betas below 1 (step ", step.adam_step,
                  ", betas ", step.beta1, ", ", step.beta2, ")");
  if (!no_decay.empty())
    AUGUR_ARG_CHECK(no_decay.dtype() == DType::I64 && no_decay.rank() == 2 && no_decay.dim(1) == 2,
                    op, ": the no-decay table ", no_decay.str(), " must be i64 [R, 2]");

  OptimizerAccess a;
  if (!predicted.empty()) {
    AUGUR_ARG_CHECK(predicted.numel() == weights.numel(), op, ": predicted ", predicted.str(),
                    " does not match the weights ", weights.str());
    AUGUR_ARG_CHECK(predicted.dtype() == weights.dtype() ||
                        (predicted.dtype() == DType::BF16 && weights.dtype() == DType::F32),
                    op, ": predicted ", predicted.str(), " must have the weights' dtype or bf16");
    AUGUR_ARG_CHECK(predicted.raw() != weights.raw(), op,
                    ": the prediction must not overwrite the master weights ", weights.str());
    a.write_predicted = true;
  }

  if (predict_only) {
    AUGUR_ARG_CHECK(a.write_predicted, op, ": needs a buffer for the predicted weights");
    const bool affine = predict.form == PredictForm::Affine;
    const bool adam = predict.form == PredictForm::AdamWDirection;
    a.read_grads = affine && (predict.cg[0] != 0 || predict.cg[1] != 0);
    a.read_state1 = (affine && step.momentum != 0) || adam;
    a.read_state2 = adam;
    if (a.read_grads) check_arena(op, "the last step's gradient", grads, weights);
  } else {
    check_arena(op, "grads", grads, weights);
    a.read_grads = true;
    a.zero_grads = step.zero_grads;
    a.write_state1 = uses_state1(step);
    a.write_state2 = !sgd;
    a.read_state1 = a.write_state1 && !step.first_step;
    a.read_state2 = a.write_state2 && !step.first_step;
  }
  if (a.read_state1 || a.write_state1)
    check_arena(op, sgd ? "state1 (momentum)" : "state1 (first moment)", state1, weights);
  if (a.read_state2 || a.write_state2) check_arena(op, "state2 (second moment)", state2, weights);
  return a;
}

void check_weights_copy(const TensorView& weights, const TensorView& predicted,
                        const TensorView& weights_copy, OptimizerAccess* acc) {
  if (weights_copy.empty()) return;
  AUGUR_ARG_CHECK(weights.dtype() == DType::F32 && weights_copy.dtype() == DType::BF16 &&
                      weights_copy.numel() == weights.numel(),
                  "optimizer_step: the weights' copy ", weights_copy.str(),
                  " must be bf16 of the f32 weights' size (weights ", weights.str(), ")");
  AUGUR_ARG_CHECK(weights_copy.raw() != weights.raw() &&
                      (predicted.empty() || weights_copy.raw() != predicted.raw()),
                  "optimizer_step: the weights' copy ", weights_copy.str(),
                  " must not alias the weights or the prediction");
  acc->write_copy = weights.numel() > 0;
}

}  // namespace detail

namespace {

constexpr int64_t kGrain = 1 << 14;

struct CpuArena {
  void* w;
  void* g;
  void* s1;
  void* s2;
  void* pred;
  bf16* copy;  // the bf16 copy of the updated weights, or null
  const int64_t* table;
  int64_t table_count;
  int64_t n;
};

CpuArena cpu_arena(const TensorView& w, const TensorView& g, const TensorView& s1,
                   const TensorView& s2, const TensorView& no_decay, const TensorView& pred,
                   const TensorView& copy = TensorView()) {
  return {w.raw(),
          g.raw(),
          s1.raw(),
          s2.raw(),
          pred.raw(),
          copy.empty() ? nullptr : copy.data<bf16>(),
          no_decay.empty() ? nullptr : no_decay.data<int64_t>(),
          no_decay.empty() ? 0 : no_decay.dim(0),
          w.numel()};
}

// fn(lo, hi, decay) over runs of elements that share their weight-decay flag, in parallel
// chunks, so the inner loops have no per-element table lookup.
template <class F>
void for_each_run(const CpuArena& a, const F& fn) {
  ThreadPool::global().parallel_for(0, a.n, kGrain, [&](int64_t lo, int64_t hi) {
    DecayCursor cursor(a.table, a.table_count, lo);
    for (int64_t i = lo; i < hi;) {
      const bool decay = cursor.decays(i);
      const int64_t end = std::min(hi, cursor.run_end(i));
      fn(i, end, decay);
      i = end;
    }
  });
}

// SGD with momentum after its first step, predicting nothing, on arenas that do not overlap:
// what every step of plain training runs. The generic loop's element math with the per-pass choices
// fixed outside the loop, so that the compiler vectorises it (the generic loop's per-element
// branches keep it scalar, about 3x slower on a memory-bound pass over the whole arena).
template <class T, bool kDecay, bool kCombined, bool kZeroGrads>
void sgd_momentum_run(T* __restrict__ w, T* __restrict__ g, T* __restrict__ v, int64_t n,
                      StepCoeffs<T> c) {
  c.momentum = true;
  c.first_step = false;
  c.combined = kCombined;
  for (int64_t i = 0; i < n; ++i) {
    T wi = w[i], vi = v[i];
    sgd_element(wi, g[i], vi, kDecay, c);
    w[i] = wi;
    v[i] = vi;
    if (kZeroGrads) g[i] = T(0);
  }
}

template <class T, bool kDecay, bool kCombined>
void sgd_momentum_run(T* w, T* g, T* v, int64_t n, const StepCoeffs<T>& c, bool zero_grads) {
  if (zero_grads)
    sgd_momentum_run<T, kDecay, kCombined, true>(w, g, v, n, c);
  else
    sgd_momentum_run<T, kDecay, kCombined, false>(w, g, v, n, c);
}

template <class T>
void sgd_momentum_run(T* w, T* g, T* v, int64_t n, const StepCoeffs<T>& c, bool decay,
                      bool zero_grads) {
  if (decay && c.combined)
    sgd_momentum_run<T, true, true>(w, g, v, n, c, zero_grads);
  else if (decay)
    sgd_momentum_run<T, true, false>(w, g, v, n, c, zero_grads);
  else if (c.combined)
    sgd_momentum_run<T, false, true>(w, g, v, n, c, zero_grads);
  else
    sgd_momentum_run<T, false, false>(w, g, v, n, c, zero_grads);
}

// P: the predicted buffer's element type (unused when nothing is predicted).
template <class T, class P>
void step_cpu(const CpuArena& a, const detail::OptimizerAccess& acc, const StepCoeffs<T>& c,
              const PredictCoeffs<T>& p) {
  T* w = static_cast<T*>(a.w);
  T* g = static_cast<T*>(a.g);
  T* s1 = static_cast<T*>(a.s1);
  T* s2 = static_cast<T*>(a.s2);
  P* pred = static_cast<P*>(a.pred);
  const size_t bytes = static_cast<size_t>(a.n) * sizeof(T);
  if (c.rule == UpdateRule::Sgd && c.momentum && !c.first_step && !acc.write_predicted &&
      !acc.write_copy && cpu::disjoint(w, g, bytes) && cpu::disjoint(w, s1, bytes) &&
      cpu::disjoint(g, s1, bytes)) {
    for_each_run(a, [&](int64_t lo, int64_t hi, bool decay) {
      sgd_momentum_run(w + lo, g + lo, s1 + lo, hi - lo, c, decay, acc.zero_grads);
    });
    return;
  }
  for_each_run(a, [&](int64_t lo, int64_t hi, bool decay) {
    for (int64_t i = lo; i < hi; ++i) {
      T wi = w[i];
      const T gi = g[i];
      T m = acc.read_state1 ? s1[i] : T(0);
      T v = acc.read_state2 ? s2[i] : T(0);
      const T predicted = step_and_predict_element(wi, gi, m, v, decay, c, p);
      w[i] = wi;
      if (acc.write_state1) s1[i] = m;
      if (acc.write_state2) s2[i] = v;
      if (acc.zero_grads) g[i] = T(0);
      if (acc.write_predicted) pred[i] = store_as<P>(predicted);
      if constexpr (std::is_same_v<T, float>)
        if (acc.write_copy) a.copy[i] = float_to_bf16(wi);
    }
  });
}

template <class T, class P>
void predict_cpu(const CpuArena& a, const detail::OptimizerAccess& acc, const StepCoeffs<T>& c,
                 const PredictCoeffs<T>& p) {
  const T* w = static_cast<const T*>(a.w);
  const T* g = static_cast<const T*>(a.g);
  const T* s1 = static_cast<const T*>(a.s1);
  const T* s2 = static_cast<const T*>(a.s2);
  P* pred = static_cast<P*>(a.pred);
  for_each_run(a, [&](int64_t lo, int64_t hi, bool decay) {
    for (int64_t i = lo; i < hi; ++i) {
      const T gi = acc.read_grads ? g[i] : T(0);
      const T m = acc.read_state1 ? s1[i] : T(0);
      const T v = acc.read_state2 ? s2[i] : T(0);
      pred[i] = store_as<P>(predict_only_element(w[i], gi, m, v, decay, c, p));
    }
  });
}

}  // namespace

template <>
bf16 store_as<bf16, float>(float x) {
  return float_to_bf16(x);
}

namespace {

template <class T>
void run_cpu(bool predict_only, const TensorView& pred_view, const CpuArena& a,
             const detail::OptimizerAccess& acc, const StepScalars& step,
             const PredictScalars& predict) {
  const StepCoeffs<T> c = step_coeffs<T>(step);
  const PredictCoeffs<T> p = predict_coeffs<T>(predict);
  const bool predicts_bf16 = !pred_view.empty() && pred_view.dtype() == DType::BF16;
  if constexpr (std::is_same_v<T, float>) {
    if (predicts_bf16) {
      if (predict_only)
        predict_cpu<T, bf16>(a, acc, c, p);
      else
        step_cpu<T, bf16>(a, acc, c, p);
      return;
    }
  }
  if (predict_only)
    predict_cpu<T, T>(a, acc, c, p);
  else
    step_cpu<T, T>(a, acc, c, p);
}

}  // namespace

namespace cpu {

void optimizer_step(const TensorView& weights, const TensorView& grads, const TensorView& state1,
                    const TensorView& state2, const TensorView& no_decay,
                    const TensorView& predicted, const StepScalars& step,
                    const PredictScalars& predict, const Stream&, const TensorView& weights_copy) {
  const profile::Scope scope(profile::Op::Optimizer);
  auto acc = detail::check_optimizer_args("optimizer_step", false, weights, grads, state1, state2,
                                          no_decay, predicted, step, predict, true);
  detail::check_weights_copy(weights, predicted, weights_copy, &acc);
  if (weights.numel() == 0) return;
  const CpuArena a = cpu_arena(weights, grads, state1, state2, no_decay, predicted, weights_copy);
  if (weights.dtype() == DType::F64)
    run_cpu<double>(false, predicted, a, acc, step, predict);
  else
    run_cpu<float>(false, predicted, a, acc, step, predict);
}

void predict_weights(const TensorView& weights, const TensorView& grads, const TensorView& state1,
                     const TensorView& state2, const TensorView& no_decay,
                     const TensorView& predicted, const StepScalars& step,
                     const PredictScalars& predict, const Stream&) {
  const auto acc = detail::check_optimizer_args("predict_weights", true, weights, grads, state1,
                                                state2, no_decay, predicted, step, predict, true);
  if (weights.numel() == 0) return;
  const CpuArena a = cpu_arena(weights, grads, state1, state2, no_decay, predicted);
  if (weights.dtype() == DType::F64)
    run_cpu<double>(true, predicted, a, acc, step, predict);
  else
    run_cpu<float>(true, predicted, a, acc, step, predict);
}

}  // namespace cpu

void optimizer_step(const TensorView& weights, const TensorView& grads, const TensorView& state1,
                    const TensorView& state2, const TensorView& no_decay,
                    const TensorView& predicted, const StepScalars& step,
                    const PredictScalars& predict, const Stream& stream,
                    const TensorView& weights_copy) {
  const Device& d =
      common_device("optimizer_step", stream,
                    {&weights, &grads, &state1, &state2, &no_decay, &predicted, &weights_copy});
  AUGUR_DISPATCH(d, optimizer_step, weights, grads, state1, state2, no_decay, predicted, step,
                 predict, stream, weights_copy);
}

void predict_weights(const TensorView& weights, const TensorView& grads, const TensorView& state1,
                     const TensorView& state2, const TensorView& no_decay,
                     const TensorView& predicted, const StepScalars& step,
                     const PredictScalars& predict, const Stream& stream) {
  const Device& d = common_device("predict_weights", stream,
                                  {&weights, &grads, &state1, &state2, &no_decay, &predicted});
  AUGUR_DISPATCH(d, predict_weights, weights, grads, state1, state2, no_decay, predicted, step,
                 predict, stream);
}

}  // namespace augur::kernels
