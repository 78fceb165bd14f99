#include "kernels/batchnorm.h"

#include <algorithm>
#include <vector>

#include "kernels/batchnorm_args.h"
#include "kernels/batchnorm_math.h"
#include "kernels/bf16_emulation.h"
#include "kernels/cpu_overlap.h"
#include "kernels/dispatch.h"
#include "kernels/profile.h"
#include "runtime/thread_pool.h"

namespace augur::kernels {

namespace {

// Sums run over fixed blocks of rows, combined in block order, so a result does not depend on
// how many threads the pool has.
constexpr int64_t kRowsPerBlock = 512;
constexpr int64_t kElementsPerTask = 1 << 14;

// Per-channel sums of `terms` quantities: add_row(r, acc) adds row r's contributions to
// acc[t * channels + c]. Returns the totals, laid out the same way.
template <class T, class AddRow>
std::vector<T> channel_sums(int64_t rows, int64_t channels, int terms, const AddRow& add_row) {
  const int64_t width = terms * channels;
  const int64_t blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
  std::vector<T> partial(static_cast<size_t>(blocks * width), T(0));
  ThreadPool::global().parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      T* acc = partial.data() + b * width;
      const int64_t end = std::min(rows, (b + 1) * kRowsPerBlock);
      for (int64_t r = b * kRowsPerBlock; r < end; ++r) add_row(r, acc);
    }
  });
  std::vector<T> total(static_cast<size_t>(width), T(0));
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t i = 0; i < width; ++i) total[i] += partial[b * width + i];
  return total;
}

template <class F>
void for_rows(int64_t rows, int64_t channels, const F& f) {
  const int64_t grain = std::max<int64_t>(1, kElementsPerTask / std::max<int64_t>(1, channels));
  ThreadPool::global().parallel_for(0, rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) f(r);
  });
}

template <class T>
std::vector<T> to_host_vector(const TensorView& v) {
  const T* p = v.data<T>();
  return std::vector<T>(p, p + v.numel());
}

// Two passes (mean, then squared deviations about it): the variance keeps its accuracy when
// |mean| >> standard deviation, where E[x^2] - E[x]^2 would cancel.
template <class T>
void stats_impl(const TensorView& x, const TensorView& mean, const TensorView& invstd, double eps,
                bn_args::BnDims d) {
  const T* px = x.data<T>();
  const int64_t C = d.channels;
  const std::vector<T> sum = channel_sums<T>(d.rows, C, 1, [&](int64_t r, T* acc) {
    const T* row = px + r * C;
    for (int64_t c = 0; c < C; ++c) acc[c] += row[c];
  });
  std::vector<T> m(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) m[c] = sum[c] / T(d.rows);
  const std::vector<T> sq = channel_sums<T>(d.rows, C, 1, [&](int64_t r, T* acc) {
    const T* row = px + r * C;
    for (int64_t c = 0; c < C; ++c) {
      const T dev = row[c] - m[c];
      acc[c] += dev * dev;
    }
  });
  T* out_mean = mean.data<T>();
  T* out_invstd = invstd.data<T>();
  for (int64_t c = 0; c < C; ++c) {
    out_mean[c] = m[c];
    out_invstd[c] = bn_invstd(sq[c] / T(d.rows), T(eps));
  }
}

template <class T>
void update_running_impl(const TensorView& mean, const TensorView& invstd, double eps,
                         int64_t count, double momentum, const TensorView& running_mean,
                         const TensorView& running_var) {
  const T* m = mean.data<T>();
  const T* is = invstd.data<T>();
  T* rm = running_mean.data<T>();
  T* rv = running_var.data<T>();
  for (int64_t c = 0; c < mean.numel(); ++c) {
    const T var = bn_unbiased_var(bn_var_from_invstd(is[c], T(eps)), T(count));
    rm[c] = bn_running_update(rm[c], m[c], T(momentum));
    rv[c] = bn_running_update(rv[c], var, T(momentum));
  }
}

template <class T>
void accumulate_impl(const TensorView& mean, const TensorView& invstd, double eps, int64_t count,
                     const TensorView& acc) {
  const T* m = mean.data<T>();
  const T* is = invstd.data<T>();
  T* a = acc.data<T>();
  const int64_t C = mean.numel();
  for (int64_t c = 0; c < C; ++c) {
    const MomentSummary<T> old{a[c], a[C + c], a[2 * C + c]};
    const MomentSummary<T> batch{T(count), m[c], bn_var_from_invstd(is[c], T(eps)) * T(count)};
    const MomentSummary<T> merged = merge_moments(old, batch);
    a[c] = merged.n;
    a[C + c] = merged.mean;
    a[2 * C + c] = merged.m2;
  }
}

template <class T>
void apply_deferred_impl(const TensorView& acc, double momentum, const TensorView& running_mean,
                         const TensorView& running_var) {
  T* a = acc.data<T>();
  T* rm = running_mean.data<T>();
  T* rv = running_var.data<T>();
  const int64_t C = acc.dim(1);
  for (int64_t c = 0; c < C; ++c) {
    const T n = a[c];
    if (n > T(0)) {
      rm[c] = bn_running_update(rm[c], a[C + c], T(momentum));
      rv[c] = bn_running_update(rv[c], bn_unbiased_from_m2(a[2 * C + c], n), T(momentum));
    }
    a[c] = a[C + c] = a[2 * C + c] = T(0);
  }
}

template <class T>
void normalize_impl(const TensorView& x, const std::vector<T>& gamma, const std::vector<T>& beta,
                    const std::vector<T>& mean, const std::vector<T>& invstd,
                    const TensorView& residual, bool relu, const TensorView& y, bn_args::BnDims d) {
  const T* px = x.data<T>();
  const T* pr = residual.empty() ? nullptr : residual.data<T>();
  T* py = y.data<T>();
  const int64_t C = d.channels;
  for_rows(d.rows, C, [&](int64_t r) {
    for (int64_t i = r * C, c = 0; c < C; ++i, ++c)
      py[i] = bn_output(px[i], mean[c], invstd[c], gamma[c], beta[c], pr ? pr[i] : T(0), relu);
  });
}

// The per-channel operands of the input gradient: vectors of backward_impl's own.
template <class T>
struct ChannelCoeffs {
  const T* mean;
  const T* invstd;
  const T* gamma;
  const T* mean_g;
  const T* mean_gxc;
};

// dx (and dresidual) of channel c of one row.
template <class T, bool kRelu, bool kResidual>
inline void input_grad_element(int64_t c, const T* x, const T* y, const T* dy, T* dx, T* dr,
                               const T* mean, const T* invstd, const T* gamma, const T* mean_g,
                               const T* mean_gxc) {
  const T g = bn_masked_grad(kRelu ? y[c] : T(0), dy[c], kRelu);
  dx[c] = bn_input_grad(g, x[c], mean[c], invstd[c], gamma[c], mean_g[c], mean_gxc[c]);
  if (kResidual) dr[c] = g;
}

template <class T, bool kRelu, bool kResidual>
void input_grad_elements(const T* x, const T* y, const T* dy, T* dx, T* dr, int64_t n,
                         const ChannelCoeffs<T>& k) {
  for (int64_t c = 0; c < n; ++c)
    input_grad_element<T, kRelu, kResidual>(c, x, y, dy, dx, dr, k.mean, k.invstd, k.gamma,
                                            k.mean_g, k.mean_gxc);
}

// The same for outputs that overlap none of the inputs nor each other, as is the case when
// a layer allocates them. Saying so (restrict) lets the compiler vectorise: with ten
// pointers in the loop its own runtime overlap checks kept it on the scalar path, which the
// loop above remains for (dx may alias dy). Not inlined: inlined into the row loop, GCC 12
// lost the restrict information and took the scalar path again.
template <class T, bool kRelu, bool kResidual>
[[gnu::noinline]] void input_grad_elements_disjoint(const T* __restrict__ x,
                                                    const T* __restrict__ y,
                                                    const T* __restrict__ dy, T* __restrict__ dx,
                                                    T* __restrict__ dr, int64_t n,
                                                    const ChannelCoeffs<T>& k) {
  const T* __restrict__ mean = k.mean;
  const T* __restrict__ invstd = k.invstd;
  const T* __restrict__ gamma = k.gamma;
  const T* __restrict__ mean_g = k.mean_g;
  const T* __restrict__ mean_gxc = k.mean_gxc;
  for (int64_t c = 0; c < n; ++c)
    input_grad_element<T, kRelu, kResidual>(c, x, y, dy, dx, dr, mean, invstd, gamma, mean_g,
                                            mean_gxc);
}

template <class T, bool kRelu, bool kResidual>
void input_grad_row(bool apart, const T* x, const T* y, const T* dy, T* dx, T* dr, int64_t n,
                    const ChannelCoeffs<T>& k) {
  if (apart)
    input_grad_elements_disjoint<T, kRelu, kResidual>(x, y, dy, dx, dr, n, k);
  else
    input_grad_elements<T, kRelu, kResidual>(x, y, dy, dx, dr, n, k);
}

template <class T>
void backward_impl(const TensorView& x, const TensorView& y, const TensorView& dy,
                   const TensorView& gamma_v, const TensorView& mean_v, const TensorView& invstd_v,
                   bool relu, const TensorView& dx, const TensorView& dgamma,
                   const TensorView& dbeta, const TensorView& dresidual, bn_args::BnDims d) {
  const T* px = x.data<T>();
  const T* py = relu ? y.data<T>() : nullptr;
  const T* pdy = dy.data<T>();
  const std::vector<T> gamma = to_host_vector<T>(gamma_v), mean = to_host_vector<T>(mean_v),
                       invstd = to_host_vector<T>(invstd_v);
  const int64_t C = d.channels;
  auto grad = [&](int64_t i) { return bn_masked_grad(py ? py[i] : T(0), pdy[i], relu); };
  // sum(g) and sum(g * (x - mean)); the latter times invstd is sum(g * xhat).
  const std::vector<T> sums = channel_sums<T>(d.rows, C, 2, [&](int64_t r, T* acc) {
    for (int64_t i = r * C, c = 0; c < C; ++i, ++c) {
      const T g = grad(i);
      acc[c] += g;
      acc[C + c] += g * (px[i] - mean[c]);
    }
  });
  T* pdgamma = dgamma.data<T>();
  T* pdbeta = dbeta.data<T>();
  std::vector<T> mean_g(static_cast<size_t>(C)), mean_gxc(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    pdbeta[c] += sums[c];
    pdgamma[c] += sums[C + c] * invstd[c];
    mean_g[c] = sums[c] / T(d.rows);
    mean_gxc[c] = sums[C + c] / T(d.rows);
  }
  T* pdx = dx.data<T>();
  T* pdr = dresidual.empty() ? nullptr : dresidual.data<T>();
  const ChannelCoeffs<T> k{mean.data(), invstd.data(), gamma.data(), mean_g.data(),
                           mean_gxc.data()};
  const size_t bytes = static_cast<size_t>(d.rows * C) * sizeof(T);
  using cpu::disjoint;
  const bool apart = disjoint(pdx, px, bytes) && disjoint(pdx, py, bytes) &&
                     disjoint(pdx, pdy, bytes) && disjoint(pdx, pdr, bytes) &&
                     disjoint(pdr, px, bytes) && disjoint(pdr, py, bytes) &&
                     disjoint(pdr, pdy, bytes);
  for_rows(d.rows, C, [&](int64_t r) {
    const int64_t o = r * C;
    if (relu && pdr)
      input_grad_row<T, true, true>(apart, px + o, py + o, pdy + o, pdx + o, pdr + o, C, k);
    else if (relu)
      input_grad_row<T, true, false>(apart, px + o, py + o, pdy + o, pdx + o, nullptr, C, k);
    else if (pdr)
      input_grad_row<T, false, true>(apart, px + o, nullptr, pdy + o, pdx + o, pdr + o, C, k);
    else
      input_grad_row<T, false, false>(apart, px + o, nullptr, pdy + o, pdx + o, nullptr, C, k);
  });
}

template <class T>
std::vector<T> invstd_of_running_var(const TensorView& running_var, double eps) {
  std::vector<T> v = to_host_vector<T>(running_var);
  for (T& e : v) e = bn_invstd(e, T(eps));
  return v;
}

}  // namespace

namespace cpu {

void batchnorm_stats(const TensorView& x, const TensorView& mean, const TensorView& invstd,
                     double eps, const Stream& stream) {
  if (any_bf16({&x, &mean, &invstd})) {
    require_bf16_mix("batchnorm_stats", {{"x", &x}}, {{"mean", &mean}, {"invstd", &invstd}});
    Bf16Staging st(stream);
    return cpu::batchnorm_stats(st.in(x), mean, invstd, eps, stream);
  }
  const profile::Scope scope(profile::Op::BnStats);
  const auto d = bn_args::check_stats(x, mean, invstd, eps, true);
  if (x.dtype() == DType::F64)
    stats_impl<double>(x, mean, invstd, eps, d);
  else
    stats_impl<float>(x, mean, invstd, eps, d);
}

void batchnorm_update_running(const TensorView& mean, const TensorView& invstd, double eps,
                              int64_t count, double momentum, const TensorView& running_mean,
                              const TensorView& running_var, const Stream&) {
  const profile::Scope scope(profile::Op::BnStats);
  bn_args::check_update_running(mean, invstd, eps, count, momentum, running_mean, running_var,
                                true);
  if (mean.dtype() == DType::F64)
    update_running_impl<double>(mean, invstd, eps, count, momentum, running_mean, running_var);
  else
    update_running_impl<float>(mean, invstd, eps, count, momentum, running_mean, running_var);
}

void batchnorm_accumulate_stats(const TensorView& mean, const TensorView& invstd, double eps,
                                int64_t count, const TensorView& acc, const Stream&) {
  const profile::Scope scope(profile::Op::BnStats);
  bn_args::check_accumulate_stats(mean, invstd, eps, count, acc, true);
  if (mean.dtype() == DType::F64)
    accumulate_impl<double>(mean, invstd, eps, count, acc);
  else
    accumulate_impl<float>(mean, invstd, eps, count, acc);
}

void batchnorm_apply_deferred(const TensorView& acc, double momentum,
                              const TensorView& running_mean, const TensorView& running_var,
                              const Stream&) {
  bn_args::check_apply_deferred(acc, momentum, running_mean, running_var, true);
  if (acc.dtype() == DType::F64)
    apply_deferred_impl<double>(acc, momentum, running_mean, running_var);
  else
    apply_deferred_impl<float>(acc, momentum, running_mean, running_var);
}

void batchnorm_forward_train(const TensorView& x, const TensorView& gamma, const TensorView& beta,
                             const TensorView& mean, const TensorView& invstd,
                             const TensorView& residual, BnActivation act, const TensorView& y,
                             const Stream& stream) {
  if (any_bf16({&x, &gamma, &beta, &mean, &invstd, &residual, &y})) {
    require_bf16_mix(
        "batchnorm_forward_train",
        {{"x", &x}, {"gamma", &gamma}, {"beta", &beta}, {"residual", &residual}, {"y", &y}},
        {{"mean", &mean}, {"invstd", &invstd}});
    Bf16Staging st(stream);
    cpu::batchnorm_forward_train(st.in(x), st.in(gamma), st.in(beta), mean, invstd, st.in(residual),
                                 act, st.out(y), stream);
    return st.finish();
  }
  const profile::Scope scope(profile::Op::BnForward);
  const auto d = bn_args::check_forward_train(x, gamma, beta, mean, invstd, residual, y, true);
  const bool relu = act == BnActivation::Relu;
  if (x.dtype() == DType::F64)
    normalize_impl<double>(x, to_host_vector<double>(gamma), to_host_vector<double>(beta),
                           to_host_vector<double>(mean), to_host_vector<double>(invstd), residual,
                           relu, y, d);
  else
    normalize_impl<float>(x, to_host_vector<float>(gamma), to_host_vector<float>(beta),
                          to_host_vector<float>(mean), to_host_vector<float>(invstd), residual,
                          relu, y, d);
}

void batchnorm_forward_infer(const TensorView& x, const TensorView& gamma, const TensorView& beta,
                             const TensorView& running_mean, const TensorView& running_var,
                             double eps, const TensorView& residual, BnActivation act,
                             const TensorView& y, const Stream& stream) {
  if (any_bf16({&x, &gamma, &beta, &running_mean, &running_var, &residual, &y})) {
    require_bf16_mix(
        "batchnorm_forward_infer",
        {{"x", &x}, {"gamma", &gamma}, {"beta", &beta}, {"residual", &residual}, {"y", &y}},
        {{"running_mean", &running_mean}, {"running_var", &running_var}});
    Bf16Staging st(stream);
    cpu::batchnorm_forward_infer(st.in(x), st.in(gamma), st.in(beta), running_mean, running_var,
                                 eps, st.in(residual), act, st.out(y), stream);
    return st.finish();
  }
  const profile::Scope scope(profile::Op::BnForward);
  const auto d = bn_args::check_forward_infer(x, gamma, beta, running_mean, running_var, eps,
                                              residual, y, true);
  const bool relu = act == BnActivation::Relu;
  if (x.dtype() == DType::F64)
    normalize_impl<double>(x, to_host_vector<double>(gamma), to_host_vector<double>(beta),
                           to_host_vector<double>(running_mean),
                           invstd_of_running_var<double>(running_var, eps), residual, relu, y, d);
  else
    normalize_impl<float>(x, to_host_vector<float>(gamma), to_host_vector<float>(beta),
                          to_host_vector<float>(running_mean),
                          invstd_of_running_var<float>(running_var, eps), residual, relu, y, d);
}

void batchnorm_backward(const TensorView& x, const TensorView& y, const TensorView& dy,
                        const TensorView& gamma, const TensorView& mean, const TensorView& invstd,
                        BnActivation act, const TensorView& dx, const TensorView& dgamma,
                        const TensorView& dbeta, const TensorView& dresidual,
                        const Stream& stream) {
  if (any_bf16({&x, &y, &dy, &gamma, &mean, &invstd, &dx, &dgamma, &dbeta, &dresidual})) {
    require_bf16_mix(
        "batchnorm_backward",
        {{"x", &x},
         {"y", &y},
         {"dy", &dy},
         {"gamma", &gamma},
         {"dx", &dx},
         {"dresidual", &dresidual}},
        {{"mean", &mean}, {"invstd", &invstd}, {"dgamma", &dgamma}, {"dbeta", &dbeta}});
    Bf16Staging st(stream);
    cpu::batchnorm_backward(st.in(x), st.in(y), st.in(dy), st.in(gamma), mean, invstd, act,
                            st.out(dx), dgamma, dbeta, st.out(dresidual), stream);
    return st.finish();
  }
  const profile::Scope scope(profile::Op::BnBackward);
  const auto d = bn_args::check_backward(x, y, dy, gamma, mean, invstd, act, dx, dgamma, dbeta,
                                         dresidual, true);
  if (x.numel() == 0) return;
  const bool relu = act == BnActivation::Relu;
  if (x.dtype() == DType::F64)
    backward_impl<double>(x, y, dy, gamma, mean, invstd, relu, dx, dgamma, dbeta, dresidual, d);
  else
    backward_impl<float>(x, y, dy, gamma, mean, invstd, relu, dx, dgamma, dbeta, dresidual, d);
}

}  // namespace cpu

void batchnorm_stats(const TensorView& x, const TensorView& mean, const TensorView& invstd,
                     double eps, const Stream& stream) {
  const Device& d = common_device("batchnorm_stats", stream, {&x, &mean, &invstd});
  AUGUR_DISPATCH(d, batchnorm_stats, x, mean, invstd, eps, stream);
}

void batchnorm_update_running(const TensorView& mean, const TensorView& invstd, double eps,
                              int64_t count, double momentum, const TensorView& running_mean,
                              const TensorView& running_var, const Stream& stream) {
  const Device& d = common_device("batchnorm_update_running", stream,
                                  {&mean, &invstd, &running_mean, &running_var});
  AUGUR_DISPATCH(d, batchnorm_update_running, mean, invstd, eps, count, momentum, running_mean,
                 running_var, stream);
}

void batchnorm_accumulate_stats(const TensorView& mean, const TensorView& invstd, double eps,
                                int64_t count, const TensorView& acc, const Stream& stream) {
  const Device& d = common_device("batchnorm_accumulate_stats", stream, {&mean, &invstd, &acc});
  AUGUR_DISPATCH(d, batchnorm_accumulate_stats, mean, invstd, eps, count, acc, stream);
}

void batchnorm_apply_deferred(const TensorView& acc, double momentum,
                              const TensorView& running_mean, const TensorView& running_var,
                              const Stream& stream) {
  const Device& d =
      common_device("batchnorm_apply_deferred", stream, {&acc, &running_mean, &running_var});
  AUGUR_DISPATCH(d, batchnorm_apply_deferred, acc, momentum, running_mean, running_var, stream);
}

void batchnorm_forward_train(const TensorView& x, const TensorView& gamma, const TensorView& beta,
                             const TensorView& mean, const TensorView& invstd,
                             const TensorView& residual, BnActivation act, const TensorView& y,
                             const Stream& stream) {
  const Device& d = common_device("batchnorm_forward_train", stream,
                                  {&x, &gamma, &beta, &mean, &invstd, &residual, &y});
  AUGUR_DISPATCH(d, batchnorm_forward_train, x, gamma, beta, mean, invstd, residual, act, y,
                 stream);
}

void batchnorm_forward_infer(const TensorView& x, const TensorView& gamma, const TensorView& beta,
                             const TensorView& running_mean, const TensorView& running_var,
                             double eps, const TensorView& residual, BnActivation act,
                             const TensorView& y, const Stream& stream) {
  const Device& d = common_device("batchnorm_forward_infer", stream,
                                  {&x, &gamma, &beta, &running_mean, &running_var, &residual, &y});
  AUGUR_DISPATCH(d, batchnorm_forward_infer, x, gamma, beta, running_mean, running_var, eps,
                 residual, act, y, stream);
}

void batchnorm_backward(const TensorView& x, const TensorView& y, const TensorView& dy,
                        const TensorView& gamma, const TensorView& mean, const TensorView& invstd,
                        BnActivation act, const TensorView& dx, const TensorView& dgamma,
                        const TensorView& dbeta, const TensorView& dresidual,
                        const Stream& stream) {
  const Device& d =
      common_device("batchnorm_backward", stream,
                    {&x, &y, &dy, &gamma, &mean, &invstd, &dx, &dgamma, &dbeta, &dresidual});
  AUGUR_DISPATCH(d, batchnorm_backward, x, y, dy, gamma, mean, invstd, act, dx, dgamma, dbeta,
                 dresidual, stream);
}

}  // namespace augur::kernels
