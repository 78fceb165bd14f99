#include <cuda/std/limits>

#include "kernels/cuda_launch.cuh"
#include "kernels/dispatch.h"
#include "kernels/pool.h"
#include "kernels/pool_math.h"

namespace augur::kernels::cuda {

namespace {

// Loop extents of one launch; channels are the fastest dimension, so consecutive threads
// touch consecutive addresses.
struct PoolGeometry {
  int64_t n, h, w, c, oh, ow;
  int kh, kw, sh, sw, ph, pw;
};

PoolGeometry geometry(const TensorView& in, const TensorView& out, const MaxPoolParams& p) {
  return {in.n(),     in.h(),     in.w(),     in.c(),     out.h(), out.w(),
          p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_h, p.pad_w};
}

// One thread per output element. Storage type T, f32 comparisons.
template <class T>
__global__ void max_pool_forward_kernel(const T* __restrict__ x, T* __restrict__ y,
                                        int32_t* __restrict__ argmax, PoolGeometry g) {
  const int64_t total = g.n * g.oh * g.ow * g.c;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = i % g.c;
    int64_t r = i / g.c;
    const int64_t ow = r % g.ow;
    r /= g.ow;
    const int64_t oh = r % g.oh;
    const int64_t n = r / g.oh;
    int64_t h1 = 0, w1 = 0;
    const int64_t h0 = pool_window_begin(oh, g.sh, g.ph, g.kh, g.h, &h1);
    const int64_t w0 = pool_window_begin(ow, g.sw, g.pw, g.kw, g.w, &w1);
    float best = -::cuda::std::numeric_limits<float>::infinity();
    int32_t best_pos = static_cast<int32_t>(h0 * g.w + w0);
    const T* xn = x + n * g.h * g.w * g.c + c;
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) {
        const float v = static_cast<float>(xn[(h * g.w + w) * g.c]);
        if (max_pool_takes(v, best)) {
          best = v;
          best_pos = static_cast<int32_t>(h * g.w + w);
        }
      }
    y[i] = T(best);
    argmax[i] = best_pos;
  }
}

// One thread per input element: sums dy over the outputs whose window covers it and whose
// winner it is, in row-major output order (the CPU scatter's order), without atomics.
template <class T>
__global__ void max_pool_backward_kernel(const T* __restrict__ dy,
                                         const int32_t* __restrict__ argmax, T* __restrict__ dx,
                                         PoolGeometry g) {
  const int64_t total = g.n * g.h * g.w * g.c;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = i % g.c;
    int64_t r = i / g.c;
    const int64_t w = r % g.w;
    r /= g.w;
    const int64_t h = r % g.h;
    const int64_t n = r / g.h;
    int64_t oh1 = 0, ow1 = 0;
    const int64_t oh0 = pool_outputs_covering(h, g.sh, g.ph, g.kh, g.oh, &oh1);
    const int64_t ow0 = pool_outputs_covering(w, g.sw, g.pw, g.kw, g.ow, &ow1);
    const int32_t pos = static_cast<int32_t>(h * g.w + w);
    const int64_t base = n * g.oh * g.ow * g.c + c;
    float acc = 0.f;
    for (int64_t oh = oh0; oh <= oh1; ++oh)
      for (int64_t ow = ow0; ow <= ow1; ++ow) {
        const int64_t o = base + (oh * g.ow + ow) * g.c;
        if (argmax[o] == pos) acc += static_cast<float>(dy[o]);
      }
    dx[i] = T(acc);
  }
}

// One thread per (sample, channel), summing H*W in ascending order like the CPU reference.
template <class T>
__global__ void gap_forward_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t n,
                                   int64_t hw, int64_t c) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n * c;
       i += int64_t(gridDim.x) * blockDim.x) {
    const T* xi = x + (i / c) * hw * c + i % c;
    float acc = 0.f;
    for (int64_t k = 0; k < hw; ++k) acc += static_cast<float>(xi[k * c]);
    y[i] = T(avg_pool_value(acc, hw));
  }
}

template <class T>
__global__ void gap_backward_kernel(const T* __restrict__ dy, T* __restrict__ dx, int64_t n,
                                    int64_t hw, int64_t c) {
  const int64_t total = n * hw * c;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t sample = i / (hw * c);
    dx[i] = T(avg_pool_grad(static_cast<float>(dy[sample * c + i % c]), hw));
  }
}

}  // namespace

void max_pool_forward(const TensorView& x, const TensorView& y, const TensorView& argmax,
                      const MaxPoolParams& params, const Stream& stream) {
  detail::check_max_pool_forward(x, y, argmax, params, false);
  const int64_t total = y.numel();
  if (total == 0) return;
  DeviceGuard guard(stream.device());
  max_pool_forward_kernel<float><<<grid_for(total), kBlock, 0, stream.handle()>>>(
      x.data<float>(), y.data<float>(), argmax.data<int32_t>(), geometry(x, y, params));
  AUGUR_CHECK_LAUNCH("max_pool_forward", stream.handle());
}

void max_pool_backward(const TensorView& dy, const TensorView& argmax, const TensorView& dx,
                       const MaxPoolParams& params, const Stream& stream) {
  detail::check_max_pool_backward(dy, argmax, dx, params, false);
  const int64_t total = dx.numel();
  if (total == 0) return;
  DeviceGuard guard(stream.device());
  max_pool_backward_kernel<float><<<grid_for(total), kBlock, 0, stream.handle()>>>(
      dy.data<float>(), argmax.data<int32_t>(), dx.data<float>(), geometry(dx, dy, params));
  AUGUR_CHECK_LAUNCH("max_pool_backward", stream.handle());
}

void global_avg_pool_forward(const TensorView& x, const TensorView& y, const Stream& stream) {
  detail::check_global_avg_pool("global_avg_pool_forward", x, y, false);
  if (y.numel() == 0) return;
  DeviceGuard guard(stream.device());
  gap_forward_kernel<float><<<grid_for(y.numel()), kBlock, 0, stream.handle()>>>(
      x.data<float>(), y.data<float>(), x.n(), x.h() * x.w(), x.c());
  AUGUR_CHECK_LAUNCH("global_avg_pool_forward", stream.handle());
}

void global_avg_pool_backward(const TensorView& dy, const TensorView& dx, const Stream& stream) {
  detail::check_global_avg_pool("global_avg_pool_backward", dx, dy, false);
  if (dx.numel() == 0) return;
  DeviceGuard guard(stream.device());
  gap_backward_kernel<float><<<grid_for(dx.numel()), kBlock, 0, stream.handle()>>>(
      dy.data<float>(), dx.data<float>(), dx.n(), dx.h() * dx.w(), dx.c());
  AUGUR_CHECK_LAUNCH("global_avg_pool_backward", stream.handle());
}

}  // namespace augur::kernels::cuda
