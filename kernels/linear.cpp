#include "kernels/linear.h"

#include <algorithm>

#include "kernels/bf16_emulation.h"
#include "kernels/cpu_gemm.h"
#include "kernels/dispatch.h"
#include "kernels/profile.h"
#include "runtime/thread_pool.h"

namespace augur::kernels {

namespace detail {

void check_linear(const char* op, const TensorView& x, const TensorView& w, const TensorView& b,
                  const TensorView& y, bool allow_f64, const char* y_name) {
  require_float(op, "x", x, allow_f64);
  AUGUR_ARG_CHECK(x.rank() == 2 && w.rank() == 2 && y.rank() == 2, op, ": x ", x.str(), ", w ",
                  w.str(), " and ", y_name, " ", y.str(), " must be rank 2");
  AUGUR_ARG_CHECK(w.dtype() == x.dtype() && y.dtype() == x.dtype(), op, ": dtypes differ: x ",
                  x.str(), ", w ", w.str(), ", ", y_name, " ", y.str());
  AUGUR_ARG_CHECK(w.dim(0) >= 1 && w.dim(1) >= 1, op, ": w ", w.str(),
                  " must have at least one input and one output feature");
  AUGUR_ARG_CHECK(x.dim(1) == w.dim(1), op, ": x ", x.str(), " has ", x.dim(1), " features but w ",
                  w.str(), " expects ", w.dim(1));
  AUGUR_ARG_CHECK(y.dim(0) == x.dim(0) && y.dim(1) == w.dim(0), op, ": ", y_name, " ", y.str(),
                  " should have shape [", x.dim(0), ", ", w.dim(0), "] for x ", x.str(), " and w ",
                  w.str());
  if (!b.empty())
    AUGUR_ARG_CHECK(b.shape() == Shape{w.dim(0)} && b.dtype() == x.dtype(), op, ": bias ", b.str(),
                    " should be ", dtype_name(x.dtype()), "[", w.dim(0), "] for w ", w.str());
}

void check_linear_backward(const char* op, const TensorView& x, const TensorView& w,
                           const TensorView& dy, const TensorView& dx, const TensorView& dw,
                           const TensorView& db, bool allow_f64) {
  check_linear(op, x, w, db, dy, allow_f64, "dy");
  if (!dx.empty())
    AUGUR_ARG_CHECK(dx.shape() == x.shape() && dx.dtype() == x.dtype(), op, ": dx ", dx.str(),
                    " should match x ", x.str());
  AUGUR_ARG_CHECK(dw.shape() == w.shape() && dw.dtype() == w.dtype(), op, ": dw ", dw.str(),
                  " should match w ", w.str());
}

}  // namespace detail

namespace cpu {

namespace {

using cpu_gemm::parallel_gemm;

constexpr int64_t kGrain = int64_t(1) << 14;

template <class T>
void forward_impl(const TensorView& x, const TensorView& w, const TensorView& b,
                  const TensorView& y) {
  const int64_t n = x.dim(0), in = x.dim(1), out = w.dim(0);
  T* py = y.data<T>();
  if (!b.empty()) {
    const T* pb = b.data<T>();
    ThreadPool::global().parallel_for(0, n,
                                      std::max<int64_t>(1, kGrain / std::max<int64_t>(1, out)),
                                      [&](int64_t lo, int64_t hi) {
                                        for (int64_t i = lo; i < hi; ++i)
                                          std::copy_n(pb, out, py + i * out);
                                      });
  }
  parallel_gemm<T>(false, true, n, out, in, 1, x.data<T>(), in, w.data<T>(), in,
                   b.empty() ? T(0) : T(1), py, out);
}

template <class T>
void backward_impl(const TensorView& x, const TensorView& w, const TensorView& dy,
                   const TensorView& dx, const TensorView& dw, const TensorView& db) {
  const int64_t n = x.dim(0), in = x.dim(1), out = w.dim(0);
  const T* g = dy.data<T>();
  if (!dx.empty())
    parallel_gemm<T>(false, false, n, in, out, 1, g, out, w.data<T>(), in, 0, dx.data<T>(), in);
  parallel_gemm<T>(true, false, out, in, n, 1, g, out, x.data<T>(), in, 1, dw.data<T>(), in);
  if (!db.empty()) {
    T* pdb = db.data<T>();
    // Column sums of dy, each column owned by one task; rows walked in order so every task
    // reads contiguous runs.
    ThreadPool::global().parallel_for(0, out,
                                      std::max<int64_t>(16, kGrain / std::max<int64_t>(1, n)),
                                      [&](int64_t lo, int64_t hi) {
                                        for (int64_t i = 0; i < n; ++i)
                                          for (int64_t j = lo; j < hi; ++j)
                                            pdb[j] += g[i * out + j];
                                      });
  }
}

}  // namespace

void linear_forward(const TensorView& x, const TensorView& w, const TensorView& b,
                    const TensorView& y, const Stream& stream) {
  if (any_bf16({&x, &w, &b, &y})) {
    require_bf16_mix("linear_forward", {{"x", &x}, {"w", &w}, {"b", &b}, {"y", &y}});
    Bf16Staging st(stream);
    cpu::linear_forward(st.in(x), st.in(w), st.in(b), st.out(y), stream);
    return st.finish();
  }
  const profile::Scope scope(profile::Op::Linear);
  detail::check_linear("linear_forward", x, w, b, y, true);
  if (x.dtype() == DType::F64)
    forward_impl<double>(x, w, b, y);
  else
    forward_impl<float>(x, w, b, y);
}

void linear_backward(const TensorView& x, const TensorView& w, const TensorView& dy,
                     const TensorView& dx, const TensorView& dw, const TensorView& db,
                     const Stream& stream) {
  if (any_bf16({&x, &w, &dy, &dx, &dw, &db})) {
    // dw and db accumulate into the f32 gradient arena.
    require_bf16_mix("linear_backward", {{"x", &x}, {"w", &w}, {"dy", &dy}, {"dx", &dx}},
                     {{"dw", &dw}, {"db", &db}});
    Bf16Staging st(stream);
    cpu::linear_backward(st.in(x), st.in(w), st.in(dy), st.out(dx), dw, db, stream);
    return st.finish();
  }
  const profile::Scope scope(profile::Op::Linear);
  detail::check_linear_backward("linear_backward", x, w, dy, dx, dw, db, true);
  if (x.dtype() == DType::F64)
    backward_impl<double>(x, w, dy, dx, dw, db);
  else
    backward_impl<float>(x, w, dy, dx, dw, db);
}

}  // namespace cpu

void linear_forward(const TensorView& x, const TensorView& w, const TensorView& b,
                    const TensorView& y, const Stream& stream) {
  const Device& d = common_device("linear_forward", stream, {&x, &w, &b, &y});
  AUGUR_DISPATCH(d, linear_forward, x, w, b, y, stream);
}

void linear_backward(const TensorView& x, const TensorView& w, const TensorView& dy,
                     const TensorView& dx, const TensorView& dw, const TensorView& db,
                     const Stream& stream) {
  const Device& d = common_device("linear_backward", stream, {&x, &w, &dy, &dx, &dw, &db});
  AUGUR_DISPATCH(d, linear_backward, x, w, dy, dx, dw, db, stream);
}

}  // namespace augur::kernels
