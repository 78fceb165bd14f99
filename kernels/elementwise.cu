#include "kernels/cuda_bf16.h"
#include "kernels/cuda_launch.cuh"
#include "kernels/dispatch.h"
#include "kernels/elementwise.h"
#include "kernels/elementwise_math.h"

namespace augur::kernels::cuda {

namespace {

// Storage type T (f32 or bf16) with f32 arithmetic; T(float) rounds to nearest even.
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

// Both views f32, or both bf16 (activations and their gradients), of one shape.
void check_pair(const char* op, const char* what, const TensorView& a, const TensorView& b) {
  if (is_bf16(a) || is_bf16(b)) {
    require_bf16_mix(op, {{"input", &a}, {what, &b}});
  } else {
    require_float(op, "input", a, false);
  }
  AUGUR_ARG_CHECK(a.shape() == b.shape() && a.dtype() == b.dtype(), op, ": shapes/dtypes ", a.str(),
                  " and ", b.str(), " differ");
}

void check_one(const char* op, const TensorView& x) {
  if (!is_bf16(x)) require_float(op, "x", x, false);
}

template <class T>
T* at(const TensorView& v) {
  return v.data<T>();
}

template <class T>
void relu_forward_as(const TensorView& x, const TensorView& y, const Stream& stream) {
  launch_linear("relu_forward", relu_forward_kernel<T>, x.numel(), stream, at<T>(x), at<T>(y),
                x.numel());
}

template <class T>
void relu_backward_as(const TensorView& y, const TensorView& dy, const TensorView& dx,
                      const Stream& stream) {
  launch_linear("relu_backward", relu_backward_kernel<T>, y.numel(), stream, at<T>(y), at<T>(dy),
                at<T>(dx), y.numel());
}

template <class T>
void add_as(const TensorView& a, const TensorView& b, const TensorView& y, const Stream& stream) {
  launch_linear("add", add_kernel<T>, a.numel(), stream, at<T>(a), at<T>(b), at<T>(y), a.numel());
}

template <class T>
void accumulate_as(const TensorView& src, const TensorView& dst, const Stream& stream) {
  launch_linear("accumulate", accumulate_kernel<T>, src.numel(), stream, at<T>(src), at<T>(dst),
                src.numel());
}

template <class T>
void add_scalar_as(const TensorView& x, float value, const Stream& stream) {
  launch_linear("add_scalar", add_scalar_kernel<T>, x.numel(), stream, at<T>(x), value, x.numel());
}

template <class T>
void scale_as(const TensorView& x, float alpha, const Stream& stream) {
  launch_linear("scale", scale_kernel<T>, x.numel(), stream, at<T>(x), alpha, x.numel());
}

using Bf16 = __nv_bfloat16;

}  // namespace

void relu_forward(const TensorView& x, const TensorView& y, const Stream& stream) {
  check_pair("relu_forward", "y", x, y);
  if (is_bf16(x))
    relu_forward_as<Bf16>(x, y, stream);
  else
    relu_forward_as<float>(x, y, stream);
}

void relu_backward(const TensorView& y, const TensorView& dy, const TensorView& dx,
                   const Stream& stream) {
  check_pair("relu_backward", "dy", y, dy);
  check_pair("relu_backward", "dx", y, dx);
  if (is_bf16(y))
    relu_backward_as<Bf16>(y, dy, dx, stream);
  else
    relu_backward_as<float>(y, dy, dx, stream);
}

void add(const TensorView& a, const TensorView& b, const TensorView& y, const Stream& stream) {
  check_pair("add", "b", a, b);
  check_pair("add", "y", a, y);
  if (is_bf16(a))
    add_as<Bf16>(a, b, y, stream);
  else
    add_as<float>(a, b, y, stream);
}

void accumulate(const TensorView& src, const TensorView& dst, const Stream& stream) {
  check_pair("accumulate", "dst", src, dst);
  if (is_bf16(src))
    accumulate_as<Bf16>(src, dst, stream);
  else
    accumulate_as<float>(src, dst, stream);
}

void add_scalar(const TensorView& x, double value, const Stream& stream) {
  check_one("add_scalar", x);
  if (is_bf16(x))
    add_scalar_as<Bf16>(x, static_cast<float>(value), stream);
  else
    add_scalar_as<float>(x, static_cast<float>(value), stream);
}

void scale(const TensorView& x, double alpha, const Stream& stream) {
  check_one("scale", x);
  if (is_bf16(x))
    scale_as<Bf16>(x, static_cast<float>(alpha), stream);
  else
    scale_as<float>(x, static_cast<float>(alpha), stream);
}

}  // namespace augur::kernels::cuda
