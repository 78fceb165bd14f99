#include "kernels/elementwise.h"

#include "kernels/bf16_emulation.h"
#include "kernels/dispatch.h"
#include "kernels/elementwise_math.h"
#include "runtime/thread_pool.h"

namespace augur::kernels {

namespace {
void check_same(const char* op, const TensorView& a, const TensorView& b, bool allow_f64) {
  require_float(op, "input", a, allow_f64);
  AUGUR_ARG_CHECK(a.shape() == b.shape() && a.dtype() == b.dtype(), op, ": shapes/dtypes ", a.str(),
                  " and ", b.str(), " differ");
}

constexpr int64_t kGrain = 1 << 14;

template <class T, class F>
void parallel_map(int64_t n, F f) {
  ThreadPool::global().parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) f(i);
  });
}

template <class T>
void relu_fwd(const TensorView& x, const TensorView& y) {
  const T* in = x.data<T>();
  T* out = y.data<T>();
  parallel_map<T>(x.numel(), [&](int64_t i) { out[i] = relu_value(in[i]); });
}
template <class T>
void relu_bwd(const TensorView& y, const TensorView& dy, const TensorView& dx) {
  const T* out = y.data<T>();
  const T* g = dy.data<T>();
  T* gx = dx.data<T>();
  parallel_map<T>(y.numel(), [&](int64_t i) { gx[i] = relu_grad_from_output(out[i], g[i]); });
}
template <class T>
void add_impl(const TensorView& a, const TensorView& b, const TensorView& y) {
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* py = y.data<T>();
  parallel_map<T>(a.numel(), [&](int64_t i) { py[i] = pa[i] + pb[i]; });
}
template <class T>
void acc_impl(const TensorView& src, const TensorView& dst) {
  const T* ps = src.data<T>();
  T* pd = dst.data<T>();
  parallel_map<T>(src.numel(), [&](int64_t i) { pd[i] += ps[i]; });
}
template <class T>
void add_scalar_impl(const TensorView& x, double value) {
  T* p = x.data<T>();
  const T v = static_cast<T>(value);
  parallel_map<T>(x.numel(), [&](int64_t i) { p[i] += v; });
}
template <class T>
void scale_impl(const TensorView& x, double alpha) {
  T* p = x.data<T>();
  const T a = static_cast<T>(alpha);
  parallel_map<T>(x.numel(), [&](int64_t i) { p[i] *= a; });
}
}  // namespace

namespace cpu {

void relu_forward(const TensorView& x, const TensorView& y, const Stream& stream) {
  if (any_bf16({&x, &y})) {
    require_bf16_mix("relu_forward", {{"x", &x}, {"y", &y}});
    Bf16Staging st(stream);
    cpu::relu_forward(st.in(x), st.out(y), stream);
    return st.finish();
  }
  check_same("relu_forward", x, y, true);
  if (x.dtype() == DType::F64)
    relu_fwd<double>(x, y);
  else
    relu_fwd<float>(x, y);
}

void relu_backward(const TensorView& y, const TensorView& dy, const TensorView& dx,
                   const Stream& stream) {
  if (any_bf16({&y, &dy, &dx})) {
    require_bf16_mix("relu_backward", {{"y", &y}, {"dy", &dy}, {"dx", &dx}});
    Bf16Staging st(stream);
    cpu::relu_backward(st.in(y), st.in(dy), st.out(dx), stream);
    return st.finish();
  }
  check_same("relu_backward", y, dy, true);
  check_same("relu_backward", y, dx, true);
  if (y.dtype() == DType::F64)
    relu_bwd<double>(y, dy, dx);
  else
    relu_bwd<float>(y, dy, dx);
}

void add(const TensorView& a, const TensorView& b, const TensorView& y, const Stream& stream) {
  if (any_bf16({&a, &b, &y})) {
    require_bf16_mix("add", {{"a", &a}, {"b", &b}, {"y", &y}});
    Bf16Staging st(stream);
    cpu::add(st.in(a), st.in(b), st.out(y), stream);
    return st.finish();
  }
  check_same("add", a, b, true);
  check_same("add", a, y, true);
  if (a.dtype() == DType::F64)
    add_impl<double>(a, b, y);
  else
    add_impl<float>(a, b, y);
}

void accumulate(const TensorView& src, const TensorView& dst, const Stream& stream) {
  if (any_bf16({&src, &dst})) {
    require_bf16_mix("accumulate", {{"src", &src}, {"dst", &dst}});
    Bf16Staging st(stream);
    cpu::accumulate(st.in(src), st.out(dst, true), stream);
    return st.finish();
  }
  check_same("accumulate", src, dst, true);
  if (src.dtype() == DType::F64)
    acc_impl<double>(src, dst);
  else
    acc_impl<float>(src, dst);
}

void add_scalar(const TensorView& x, double value, const Stream& stream) {
  if (any_bf16({&x})) {
    Bf16Staging st(stream);
    cpu::add_scalar(st.out(x, true), value, stream);
    return st.finish();
  }
  require_float("add_scalar", "x", x, true);
  if (x.dtype() == DType::F64)
    add_scalar_impl<double>(x, value);
  else
    add_scalar_impl<float>(x, value);
}

void scale(const TensorView& x, double alpha, const Stream& stream) {
  if (any_bf16({&x})) {
    Bf16Staging st(stream);
    cpu::scale(st.out(x, true), alpha, stream);
    return st.finish();
  }
  require_float("scale", "x", x, true);
  if (x.dtype() == DType::F64)
    scale_impl<double>(x, alpha);
  else
    scale_impl<float>(x, alpha);
}

}  // namespace cpu

void relu_forward(const TensorView& x, const TensorView& y, const Stream& stream) {
  const Device& d = common_device("relu_forward", stream, {&x, &y});
  AUGUR_DISPATCH(d, relu_forward, x, y, stream);
}

void relu_backward(const TensorView& y, const TensorView& dy, const TensorView& dx,
                   const Stream& stream) {
  const Device& d = common_device("relu_backward", stream, {&y, &dy, &dx});
  AUGUR_DISPATCH(d, relu_backward, y, dy, dx, stream);
}

void add(const TensorView& a, const TensorView& b, const TensorView& y, const Stream& stream) {
  const Device& d = common_device("add", stream, {&a, &b, &y});
  AUGUR_DISPATCH(d, add, a, b, y, stream);
}

void accumulate(const TensorView& src, const TensorView& dst, const Stream& stream) {
  const Device& d = common_device("accumulate", stream, {&src, &dst});
  AUGUR_DISPATCH(d, accumulate, src, dst, stream);
}

void add_scalar(const TensorView& x, double value, const Stream& stream) {
  const Device& d = common_device("add_scalar", stream, {&x});
  AUGUR_DISPATCH(d, add_scalar, x, value, stream);
}

void scale(const TensorView& x, double alpha, const Stream& stream) {
  const Device& d = common_device("scale", stream, {&x});
  AUGUR_DISPATCH(d, scale, x, alpha, stream);
}

}  // namespace augur::kernels
