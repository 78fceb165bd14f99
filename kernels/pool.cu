#include <cuda/std/limits>

#include <algorithm>

#include "kernels/cuda_bf16.h"
#include "kernels/cuda_launch.cuh"
#include "kernels/dispatch.h"
#include "kernels/pool.h"
#include "kernels/pool_math.h"

namespace augur::kernels::cuda {

namespace {

// Loop extents of one launch; channels are the fastest dimension, so consecutive threads
// touch consecutive addresses. Index type I as in pool_math.h.
template <class I>
struct PoolGeometry {
  I n, h, w, c, oh, ow;
  int kh, kw, sh, sw, ph, pw;
};

template <class I>
PoolGeometry<I> geometry(const TensorView& in, const TensorView& out, const MaxPoolParams& p) {
  return {static_cast<I>(in.n()),
          static_cast<I>(in.h()),
          static_cast<I>(in.w()),
          static_cast<I>(in.c()),
          static_cast<I>(out.h()),
          static_cast<I>(out.w()),
          p.kernel_h,
          p.kernel_w,
          p.stride_h,
          p.stride_w,
          p.pad_h,
          p.pad_w};
}

// Whether every index of a launch over these views fits int32_t.
bool fits_int32(const TensorView& a, const TensorView& b) {
  return std::max(a.numel(), b.numel()) < (int64_t(1) << 31) - kBlock * int64_t(65535) * 8;
}

// One thread per output element. Storage type T, f32 comparisons.
template <class T, class I>
__global__ void max_pool_forward_kernel(const T* __restrict__ x, T* __restrict__ y,
                                        int32_t* __restrict__ argmax, PoolGeometry<I> g) {
  const I total = g.n * g.oh * g.ow * g.c;
  for_each_index<I>(total, [&](I i) {
    const I c = i % g.c;
    I r = i / g.c;
    const I ow = r % g.ow;
    r /= g.ow;
    const I oh = r % g.oh;
    const I n = r / g.oh;
    I h1 = 0, w1 = 0;
    const I h0 = pool_window_begin(oh, g.sh, g.ph, g.kh, g.h, &h1);
    const I w0 = pool_window_begin(ow, g.sw, g.pw, g.kw, g.w, &w1);
    float best = -::cuda::std::numeric_limits<float>::infinity();
    int32_t best_pos = static_cast<int32_t>(h0 * g.w + w0);
    const T* xn = x + n * g.h * g.w * g.c + c;
    for (I h = h0; h < h1; ++h)
      for (I w = w0; w < w1; ++w) {
        const float v = static_cast<float>(xn[(h * g.w + w) * g.c]);
        if (max_pool_takes(v, best)) {
          best = v;
          best_pos = static_cast<int32_t>(h * g.w + w);
        }
      }
    y[i] = T(best);
    argmax[i] = best_pos;
  });
}

// One thread per input element: sums dy over the outputs whose window covers it and whose
// winner it is, in row-major output order (the CPU scatter's order), without atomics.
template <class T, class I>
__global__ void max_pool_backward_kernel(const T* __restrict__ dy,
                                         const int32_t* __restrict__ argmax, T* __restrict__ dx,
                                         PoolGeometry<I> g) {
  const I total = g.n * g.h * g.w * g.c;
  for_each_index<I>(total, [&](I i) {
    const I c = i % g.c;
    I r = i / g.c;
    const I w = r % g.w;
    r /= g.w;
    const I h = r % g.h;
    const I n = r / g.h;
    I oh1 = 0, ow1 = 0;
    const I oh0 = pool_outputs_covering(h, g.sh, g.ph, g.kh, g.oh, &oh1);
    const I ow0 = pool_outputs_covering(w, g.sw, g.pw, g.kw, g.ow, &ow1);
    const int32_t pos = static_cast<int32_t>(h * g.w + w);
    const I base = n * g.oh * g.ow * g.c + c;
    float acc = 0.f;
    for (I oh = oh0; oh <= oh1; ++oh)
      for (I ow = ow0; ow <= ow1; ++ow) {
        const I o = base + (oh * g.ow + ow) * g.c;
        if (argmax[o] == pos) acc += static_cast<float>(dy[o]);
      }
    dx[i] = T(acc);
  });
}

// One thread per (sample, channel), summing H*W in ascending order like the CPU reference.
template <class T, class I>
__global__ void gap_forward_kernel(const T* __restrict__ x, T* __restrict__ y, I n, I hw, I c) {
  for_each_index<I>(n * c, [&](I i) {
    const T* xi = x + (i / c) * hw * c + i % c;
    float acc = 0.f;
    for (I k = 0; k < hw; ++k) acc += static_cast<float>(xi[k * c]);
    y[i] = T(avg_pool_value(acc, hw));
  });
}

template <class T, class I>
__global__ void gap_backward_kernel(const T* __restrict__ dy, T* __restrict__ dx, I n, I hw, I c) {
  const I total = n * hw * c;
  for_each_index<I>(total, [&](I i) {
    const I sample = i / (hw * c);
    dx[i] = T(avg_pool_grad(static_cast<float>(dy[sample * c + i % c]), hw));
  });
}

template <class T, class I>
void launch_max_pool_forward(const TensorView& x, const TensorView& y, const TensorView& argmax,
                             const MaxPoolParams& p, const Stream& stream) {
  launch_linear("max_pool_forward", max_pool_forward_kernel<T, I>, y.numel(), stream, x.data<T>(),
                y.data<T>(), argmax.data<int32_t>(), geometry<I>(x, y, p));
}

template <class T, class I>
void launch_max_pool_backward(const TensorView& dy, const TensorView& argmax, const TensorView& dx,
                              const MaxPoolParams& p, const Stream& stream) {
  launch_linear("max_pool_backward", max_pool_backward_kernel<T, I>, dx.numel(), stream,
                dy.data<T>(), argmax.data<int32_t>(), dx.data<T>(), geometry<I>(dx, dy, p));
}

template <class T, class I>
void launch_gap_forward(const TensorView& x, const TensorView& y, const Stream& stream) {
  launch_linear("global_avg_pool_forward", gap_forward_kernel<T, I>, y.numel(), stream, x.data<T>(),
                y.data<T>(), I(x.n()), I(x.h() * x.w()), I(x.c()));
}

template <class T, class I>
void launch_gap_backward(const TensorView& dy, const TensorView& dx, const Stream& stream) {
  launch_linear("global_avg_pool_backward", gap_backward_kernel<T, I>, dx.numel(), stream,
                dy.data<T>(), dx.data<T>(), I(dx.n()), I(dx.h() * dx.w()), I(dx.c()));
}

// Storage type by the views' dtype (f32, or bf16 for both), index type by their size.
template <class F>
void with_types(const TensorView& a, const TensorView& b, F f) {
  const bool narrow = fits_int32(a, b);
  if (is_bf16(a)) {
    if (narrow)
      f(__nv_bfloat16{}, int32_t{});
    else
      f(__nv_bfloat16{}, int64_t{});
  } else if (narrow) {
    f(float{}, int32_t{});
  } else {
    f(float{}, int64_t{});
  }
}

}  // namespace

void max_pool_forward(const TensorView& x, const TensorView& y, const TensorView& argmax,
                      const MaxPoolParams& params, const Stream& stream) {
  if (is_bf16(x) || is_bf16(y)) require_bf16_mix("max_pool_forward", {{"x", &x}, {"y", &y}});
  detail::check_max_pool_forward(checked_as_f32(x), checked_as_f32(y), argmax, params, false);
  if (y.numel() == 0) return;
  with_types(x, y, [&](auto t, auto i) {
    launch_max_pool_forward<decltype(t), decltype(i)>(x, y, argmax, params, stream);
  });
}

void max_pool_backward(const TensorView& dy, const TensorView& argmax, const TensorView& dx,
                       const MaxPoolParams& params, const Stream& stream) {
  if (is_bf16(dy) || is_bf16(dx)) require_bf16_mix("max_pool_backward", {{"dy", &dy}, {"dx", &dx}});
  detail::check_max_pool_backward(checked_as_f32(dy), argmax, checked_as_f32(dx), params, false);
  if (dx.numel() == 0) return;
  with_types(dx, dy, [&](auto t, auto i) {
    launch_max_pool_backward<decltype(t), decltype(i)>(dy, argmax, dx, params, stream);
  });
}

void global_avg_pool_forward(const TensorView& x, const TensorView& y, const Stream& stream) {
  if (is_bf16(x) || is_bf16(y)) require_bf16_mix("global_avg_pool_forward", {{"x", &x}, {"y", &y}});
  detail::check_global_avg_pool("global_avg_pool_forward", checked_as_f32(x), checked_as_f32(y),
                                false);
  if (y.numel() == 0) return;
  with_types(x, y,
             [&](auto t, auto i) { launch_gap_forward<decltype(t), decltype(i)>(x, y, stream); });
}

void global_avg_pool_backward(const TensorView& dy, const TensorView& dx, const Stream& stream) {
  if (is_bf16(dy) || is_bf16(dx))
    require_bf16_mix("global_avg_pool_backward", {{"dy", &dy}, {"dx", &dx}});
  detail::check_global_avg_pool("global_avg_pool_backward", checked_as_f32(dx), checked_as_f32(dy),
                                false);
  if (dx.numel() == 0) return;
  with_types(dx, dy, [&](auto t, auto i) {
    launch_gap_backward<decltype(t), decltype(i)>(dy, dx, stream);
  });
}

}  // namespace augur::kernels::cuda
