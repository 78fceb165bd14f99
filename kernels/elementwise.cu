#include "kernels/cuda_launch.cuh"
#include "kernels/dispatch.h"
#include "kernels/elementwise.h"
#include "kernels/elementwise_math.h"

namespace augur::kernels::cuda {

namespace {

// Storage type T (f32 today, bf16 later) with f32 arithmetic.
template <class T>
__global__ void relu_forward_kernel(const T* __restrict__ x, T* y, int64_t n) {
  for_each_index(n, [&](int64_t i) { y[i] = T(relu_value(float(x[i]))); });
}

template <class T>
__global__ void relu_backward_kernel(const T* __restrict__ y, const T* dy, T* dx, int64_t n) {
  for_each_index(n,
                 [&](int64_t i) { dx[i] = T(relu_grad_from_output(float(y[i]), float(dy[i]))); });
}

template <class T>
__global__ void add_kernel(const T* a, const T* b, T* y, int64_t n) {
  for_each_index(n, [&](int64_t i) { y[i] = T(float(a[i]) + float(b[i])); });
}

template <class T>
__global__ void accumulate_kernel(const T* __restrict__ src, T* dst, int64_t n) {
  for_each_index(n, [&](int64_t i) { dst[i] = T(float(dst[i]) + float(src[i])); });
}

template <class T>
__global__ void add_scalar_kernel(T* x, float value, int64_t n) {
  for_each_index(n, [&](int64_t i) { x[i] = T(float(x[i]) + value); });
}

template <class T>
__global__ void scale_kernel(T* x, float alpha, int64_t n) {
  for_each_index(n, [&](int64_t i) { x[i] = T(float(x[i]) * alpha); });
}

void check_f32(const char* op, const TensorView& a, const TensorView& b) {
  require_float(op, "input", a, false);
  AUGUR_ARG_CHECK(a.shape() == b.shape() && a.dtype() == b.dtype(), op, ": shapes/dtypes ", a.str(),
                  " and ", b.str(), " differ");
}

}  // namespace

void relu_forward(const TensorView& x, const TensorView& y, const Stream& stream) {
  check_f32("relu_forward", x, y);
  const int64_t n = x.numel();
  launch_linear("relu_forward", relu_forward_kernel<float>, n, stream, x.data<float>(),
                y.data<float>(), n);
}

void relu_backward(const TensorView& y, const TensorView& dy, const TensorView& dx,
                   const Stream& stream) {
  check_f32("relu_backward", y, dy);
  check_f32("relu_backward", y, dx);
  const int64_t n = y.numel();
  launch_linear("relu_backward", relu_backward_kernel<float>, n, stream, y.data<float>(),
                dy.data<float>(), dx.data<float>(), n);
}

void add(const TensorView& a, const TensorView& b, const TensorView& y, const Stream& stream) {
  check_f32("add", a, b);
  check_f32("add", a, y);
  const int64_t n = a.numel();
  launch_linear("add", add_kernel<float>, n, stream, a.data<float>(), b.data<float>(),
                y.data<float>(), n);
}

void accumulate(const TensorView& src, const TensorView& dst, const Stream& stream) {
  check_f32("accumulate", src, dst);
  const int64_t n = src.numel();
  launch_linear("accumulate", accumulate_kernel<float>, n, stream, src.data<float>(),
                dst.data<float>(), n);
}

void add_scalar(const TensorView& x, double value, const Stream& stream) {
  require_float("add_scalar", "x", x, false);
  const int64_t n = x.numel();
  launch_linear("add_scalar", add_scalar_kernel<float>, n, stream, x.data<float>(),
                static_cast<float>(value), n);
}

void scale(const TensorView& x, double alpha, const Stream& stream) {
  require_float("scale", "x", x, false);
  const int64_t n = x.numel();
  launch_linear("scale", scale_kernel<float>, n, stream, x.data<float>(), static_cast<float>(alpha),
                n);
}

}  // namespace augur::kernels::cuda
