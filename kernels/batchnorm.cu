#include <cub/warp/warp_reduce.cuh>

#include <algorithm>
#include <type_traits>

#include "kernels/batchnorm.h"
#include "kernels/batchnorm_args.h"
#include "kernels/batchnorm_math.h"
#include "kernels/cuda_bf16.h"
#include "kernels/cuda_launch.cuh"
#include "runtime/context.h"

namespace augur::kernels::cuda {

namespace {

// Activations are [rows, C] with channels fastest. Every kernel over them uses one tiling: a
// block of kBlock threads is CX channel lanes (threadIdx.x: consecutive channels, so a warp
// reads contiguous memory) by RY row lanes (threadIdx.y). A thread keeps one channel for its
// whole life, so per-channel values are loaded once, and walks rows with a grid stride.
// Activations and gamma/beta (the compute copy of the weights) have storage type T (f32, or
// bf16 in bf16 mode); arithmetic and the per-channel statistics are f32.
template <int CX>
struct Tile {
  static constexpr int kRY = kBlock / CX;
};

// Narrow channel counts take narrower tiles so that fewer lanes idle.
template <class F>
void with_channel_lanes(int64_t channels, F&& f) {
  if (channels > 16)
    f(std::integral_constant<int, 32>{});
  else if (channels > 8)
    f(std::integral_constant<int, 16>{});
  else
    f(std::integral_constant<int, 8>{});
}

// About eight resident blocks per SM on an H100; reductions also want each thread to see a
// few chunks of rows before the partial results are merged.
constexpr int64_t kTargetBlocks = 1024;
constexpr int64_t kMinRowsPerThread = 8;

dim3 grid_for_tiles(int64_t rows, int64_t channels, int cx, int64_t min_rows_per_thread) {
  const int64_t ry = kBlock / cx;
  const int64_t gx = (channels + cx - 1) / cx;
  const int64_t per_block = ry * min_rows_per_thread;
  const int64_t want = (rows + per_block - 1) / per_block;
  const int64_t cap = std::max<int64_t>(1, kTargetBlocks / gx);
  const int64_t gy = std::max<int64_t>(1, std::min({want, cap, int64_t(65535)}));
  return dim3(static_cast<unsigned>(gx), static_cast<unsigned>(gy));
}

using Moments = MomentSummary<float>;

struct MergeMoments {
  __device__ Moments operator()(const Moments& a, const Moments& b) const {
    return merge_moments(a, b);
  }
};

// sum(g) and sum(g * (x - mean)) of one channel.
struct GradSums {
  float g;
  float gxc;
};

struct AddGradSums {
  __device__ GradSums operator()(const GradSums& a, const GradSums& b) const {
    return {a.g + b.g, a.gxc + b.gxc};
  }
};

// A per-channel (segmented) reduction inside one block: the RY values of each channel are
// transposed through shared memory into one logical warp of RY lanes, which cub::WarpReduce
// combines (a BlockReduce would merge all channels into one value). Returns true in the lane
// that holds the result of the block's channel lane *col.
template <int CX, class S, class Op>
__device__ bool reduce_per_channel(const S& value, Op op, S* result, int* col) {
  constexpr int RY = Tile<CX>::kRY;
  using WarpReduce = cub::WarpReduce<S, RY>;
  __shared__ S cells[kBlock];
  __shared__ typename WarpReduce::TempStorage temp[CX];
  cells[threadIdx.y * CX + threadIdx.x] = value;
  __syncthreads();
  const int t = threadIdx.y * CX + threadIdx.x;
  const int lane = t % RY;
  *col = t / RY;
  *result = WarpReduce(temp[*col]).Reduce(cells[lane * CX + *col], op);
  return lane == 0;
}

// Rows are read in chunks of kChunk (independent loads in flight); each chunk's mean and M2
// are exact two-pass values over its few elements, merged into the thread's running summary.
constexpr int kChunk = 4;

template <class T, int CX>
__global__ void __launch_bounds__(kBlock)
    stats_partial_kernel(const T* __restrict__ x, int64_t rows, int channels,
                         Moments* __restrict__ partial) {
  constexpr int RY = Tile<CX>::kRY;
  const int c = blockIdx.x * CX + threadIdx.x;
  Moments acc{0.f, 0.f, 0.f};
  if (c < channels) {
    const int64_t stride = int64_t(gridDim.y) * RY;
    for (int64_t r = int64_t(blockIdx.y) * RY + threadIdx.y; r < rows; r += kChunk * stride) {
      float v[kChunk];
      int k = 0;
#pragma unroll
      for (int j = 0; j < kChunk; ++j) {
        const int64_t rj = r + j * stride;
        v[j] = rj < rows ? float(x[rj * channels + c]) : 0.f;
        k += rj < rows;
      }
      float sum = 0.f;
#pragma unroll
      for (int j = 0; j < kChunk; ++j) sum += v[j];
      const float chunk_mean = sum / float(k);
      float m2 = 0.f;
#pragma unroll
      for (int j = 0; j < kChunk; ++j) {
        const float d = v[j] - chunk_mean;
        if (j < k) m2 += d * d;
      }
      acc = merge_moments(acc, Moments{float(k), chunk_mean, m2});
    }
  }
  Moments total;
  int col;
  if (reduce_per_channel<CX>(acc, MergeMoments{}, &total, &col)) {
    const int cc = blockIdx.x * CX + col;
    if (cc < channels) partial[int64_t(blockIdx.y) * channels + cc] = total;
  }
}

template <int CX>
__global__ void __launch_bounds__(kBlock)
    stats_finalize_kernel(const Moments* __restrict__ partial, int parts, int channels, float eps,
                          float* __restrict__ mean, float* __restrict__ invstd) {
  constexpr int RY = Tile<CX>::kRY;
  const int c = blockIdx.x * CX + threadIdx.x;
  Moments acc{0.f, 0.f, 0.f};
  if (c < channels)
    for (int p = threadIdx.y; p < parts; p += RY)
      acc = merge_moments(acc, partial[int64_t(p) * channels + c]);
  Moments total;
  int col;
  if (reduce_per_channel<CX>(acc, MergeMoments{}, &total, &col)) {
    const int cc = blockIdx.x * CX + col;
    if (cc < channels) {
      mean[cc] = total.mean;
      invstd[cc] = bn_invstd(total.m2 / total.n, eps);
    }
  }
}

__global__ void update_running_kernel(const float* __restrict__ mean,
                                      const float* __restrict__ invstd, float eps, float count,
                                      float momentum, float* running_mean, float* running_var,
                                      int channels) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= channels) return;
  const float var = bn_unbiased_var(bn_var_from_invstd(invstd[c], eps), count);
  running_mean[c] = bn_running_update(running_mean[c], mean[c], momentum);
  running_var[c] = bn_running_update(running_var[c], var, momentum);
}

__global__ void accumulate_stats_kernel(const float* __restrict__ mean,
                                        const float* __restrict__ invstd, float eps, float count,
                                        float* acc, int channels) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= channels) return;
  const Moments old{acc[c], acc[channels + c], acc[2 * channels + c]};
  const Moments batch{count, mean[c], bn_var_from_invstd(invstd[c], eps) * count};
  const Moments merged = merge_moments(old, batch);
  acc[c] = merged.n;
  acc[channels + c] = merged.mean;
  acc[2 * channels + c] = merged.m2;
}

__global__ void apply_deferred_kernel(float* acc, float momentum, float* running_mean,
                                      float* running_var, int channels) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= channels) return;
  const float n = acc[c];
  if (n > 0.f) {
    running_mean[c] = bn_running_update(running_mean[c], acc[channels + c], momentum);
    running_var[c] =
        bn_running_update(running_var[c], bn_unbiased_from_m2(acc[2 * channels + c], n), momentum);
  }
  acc[c] = acc[channels + c] = acc[2 * channels + c] = 0.f;
}

// y = act(gamma * (x - mean) * invstd + beta [+ residual]). `scale` holds invstd, or for
// inference the running variance that invstd is computed from. y may alias x or residual.
template <class T, int CX>
__global__ void __launch_bounds__(kBlock)
    normalize_kernel(const T* x, const T* __restrict__ gamma, const T* __restrict__ beta,
                     const float* __restrict__ mean, const float* __restrict__ scale,
                     bool scale_is_var, float eps, const T* residual, bool relu, T* y, int64_t rows,
                     int channels) {
  constexpr int RY = Tile<CX>::kRY;
  const int c = blockIdx.x * CX + threadIdx.x;
  if (c >= channels) return;
  const float m = mean[c];
  const float is = scale_is_var ? bn_invstd(scale[c], eps) : scale[c];
  const float g = float(gamma[c]);
  const float b = float(beta[c]);
  const int64_t stride = int64_t(gridDim.y) * RY;
  for (int64_t r = int64_t(blockIdx.y) * RY + threadIdx.y; r < rows; r += stride) {
    const int64_t i = r * channels + c;
    const float res = residual ? float(residual[i]) : 0.f;
    y[i] = T(bn_output(float(x[i]), m, is, g, b, res, relu));
  }
}

template <class T, int CX>
__global__ void __launch_bounds__(kBlock)
    backward_partial_kernel(const T* __restrict__ x, const T* __restrict__ y,
                            const T* __restrict__ dy, const float* __restrict__ mean, bool relu,
                            int64_t rows, int channels, GradSums* __restrict__ partial) {
  constexpr int RY = Tile<CX>::kRY;
  const int c = blockIdx.x * CX + threadIdx.x;
  GradSums acc{0.f, 0.f};
  if (c < channels) {
    const float m = mean[c];
    const int64_t stride = int64_t(gridDim.y) * RY;
    for (int64_t r = int64_t(blockIdx.y) * RY + threadIdx.y; r < rows; r += stride) {
      const int64_t i = r * channels + c;
      const float g = bn_masked_grad(relu ? float(y[i]) : 0.f, float(dy[i]), relu);
      acc.g += g;
      acc.gxc += g * (float(x[i]) - m);
    }
  }
  GradSums total;
  int col;
  if (reduce_per_channel<CX>(acc, AddGradSums{}, &total, &col)) {
    const int cc = blockIdx.x * CX + col;
    if (cc < channels) partial[int64_t(blockIdx.y) * channels + cc] = total;
  }
}

// Totals the partial sums, accumulates the parameter gradients and leaves the totals in
// `sums` ([2, C]) for the input-gradient pass.
template <int CX>
__global__ void __launch_bounds__(kBlock)
    backward_finalize_kernel(const GradSums* __restrict__ partial, int parts, int channels,
                             const float* __restrict__ invstd, float* dgamma, float* dbeta,
                             float* __restrict__ sums) {
  constexpr int RY = Tile<CX>::kRY;
  const int c = blockIdx.x * CX + threadIdx.x;
  GradSums acc{0.f, 0.f};
  if (c < channels)
    for (int p = threadIdx.y; p < parts; p += RY) {
      const GradSums s = partial[int64_t(p) * channels + c];
      acc.g += s.g;
      acc.gxc += s.gxc;
    }
  GradSums total;
  int col;
  if (reduce_per_channel<CX>(acc, AddGradSums{}, &total, &col)) {
    const int cc = blockIdx.x * CX + col;
    if (cc < channels) {
      sums[cc] = total.g;
      sums[channels + cc] = total.gxc;
      dbeta[cc] += total.g;
      dgamma[cc] += total.gxc * invstd[cc];
    }
  }
}

// dx and dresidual may alias dy: each element is read before it is written, by one thread.
template <class T, int CX>
__global__ void __launch_bounds__(kBlock)
    backward_input_kernel(const T* x, const T* y, const T* dy, const T* __restrict__ gamma,
                          const float* __restrict__ mean, const float* __restrict__ invstd,
                          const float* __restrict__ sums, bool relu, int64_t rows, int channels,
                          T* dx, T* dresidual) {
  constexpr int RY = Tile<CX>::kRY;
  const int c = blockIdx.x * CX + threadIdx.x;
  if (c >= channels) return;
  const float m = mean[c];
  const float is = invstd[c];
  const float ga = float(gamma[c]);
  const float mean_g = sums[c] / float(rows);
  const float mean_gxc = sums[channels + c] / float(rows);
  const int64_t stride = int64_t(gridDim.y) * RY;
  for (int64_t r = int64_t(blockIdx.y) * RY + threadIdx.y; r < rows; r += stride) {
    const int64_t i = r * channels + c;
    const float g = bn_masked_grad(relu ? float(y[i]) : 0.f, float(dy[i]), relu);
    dx[i] = T(bn_input_grad(g, float(x[i]), m, is, ga, mean_g, mean_gxc));
    if (dresidual) dresidual[i] = T(g);
  }
}

int blocks_for_channels(int64_t channels) {
  return static_cast<int>((channels + kBlock - 1) / kBlock);
}

void check_channels_fit(const char* op, int64_t channels) {
  AUGUR_ARG_CHECK(channels <= (int64_t(1) << 30), op, ": ", channels,
                  " channels exceed the CUDA kernels' limit of 2^30");
}

}  // namespace

void batchnorm_stats(const TensorView& x, const TensorView& mean, const TensorView& invstd,
                     double eps, const Stream& stream) {
  if (is_bf16(x) || is_bf16(mean) || is_bf16(invstd))
    require_bf16_mix("batchnorm_stats", {{"x", &x}}, {{"mean", &mean}, {"invstd", &invstd}});
  const auto d = bn_args::check_stats(checked_as_f32(x), mean, invstd, eps, false);
  check_channels_fit("batchnorm_stats", d.channels);
  if (d.channels == 0) return;
  const int C = static_cast<int>(d.channels);
  with_channel_lanes(C, [&](auto lanes) {
    constexpr int CX = decltype(lanes)::value;
    const dim3 block(CX, Tile<CX>::kRY);
    const dim3 grid = grid_for_tiles(d.rows, C, CX, kChunk * kMinRowsPerThread);
    const int parts = static_cast<int>(grid.y);
    auto* partial = static_cast<Moments*>(DeviceContext::get(stream.device())
                                              .resources(stream)
                                              .workspace(sizeof(Moments) * parts * C));
    if (is_bf16(x))
      stats_partial_kernel<__nv_bfloat16, CX>
          <<<grid, block, 0, stream.handle()>>>(x.data<__nv_bfloat16>(), d.rows, C, partial);
    else
      stats_partial_kernel<float, CX>
          <<<grid, block, 0, stream.handle()>>>(x.data<float>(), d.rows, C, partial);
    AUGUR_CHECK_LAUNCH("batchnorm_stats_partial", stream.handle());
    stats_finalize_kernel<CX><<<dim3(grid.x), block, 0, stream.handle()>>>(
        partial, parts, C, static_cast<float>(eps), mean.data<float>(), invstd.data<float>());
    AUGUR_CHECK_LAUNCH("batchnorm_stats_finalize", stream.handle());
  });
}

void batchnorm_update_running(const TensorView& mean, const TensorView& invstd, double eps,
                              int64_t count, double momentum, const TensorView& running_mean,
                              const TensorView& running_var, const Stream& stream) {
  const int64_t C = bn_args::check_update_running(mean, invstd, eps, count, momentum, running_mean,
                                                  running_var, false);
  check_channels_fit("batchnorm_update_running", C);
  if (C == 0) return;
  update_running_kernel<<<blocks_for_channels(C), kBlock, 0, stream.handle()>>>(
      mean.data<float>(), invstd.data<float>(), static_cast<float>(eps), static_cast<float>(count),
      static_cast<float>(momentum), running_mean.data<float>(), running_var.data<float>(),
      static_cast<int>(C));
  AUGUR_CHECK_LAUNCH("batchnorm_update_running", stream.handle());
}

void batchnorm_accumulate_stats(const TensorView& mean, const TensorView& invstd, double eps,
                                int64_t count, const TensorView& acc, const Stream& stream) {
  const int64_t C = bn_args::check_accumulate_stats(mean, invstd, eps, count, acc, false);
  check_channels_fit("batchnorm_accumulate_stats", C);
  if (C == 0) return;
  accumulate_stats_kernel<<<blocks_for_channels(C), kBlock, 0, stream.handle()>>>(
      mean.data<float>(), invstd.data<float>(), static_cast<float>(eps), static_cast<float>(count),
      acc.data<float>(), static_cast<int>(C));
  AUGUR_CHECK_LAUNCH("batchnorm_accumulate_stats", stream.handle());
}

void batchnorm_apply_deferred(const TensorView& acc, double momentum,
                              const TensorView& running_mean, const TensorView& running_var,
                              const Stream& stream) {
  const int64_t C = bn_args::check_apply_deferred(acc, momentum, running_mean, running_var, false);
  check_channels_fit("batchnorm_apply_deferred", C);
  if (C == 0) return;
  apply_deferred_kernel<<<blocks_for_channels(C), kBlock, 0, stream.handle()>>>(
      acc.data<float>(), static_cast<float>(momentum), running_mean.data<float>(),
      running_var.data<float>(), static_cast<int>(C));
  AUGUR_CHECK_LAUNCH("batchnorm_apply_deferred", stream.handle());
}

namespace {

template <class T>
void launch_normalize_as(const bn_args::BnDims& d, const TensorView& x, const TensorView& gamma,
                         const TensorView& beta, const TensorView& mean, const TensorView& scale,
                         bool scale_is_var, double eps, const TensorView& residual,
                         BnActivation act, const TensorView& y, const Stream& stream,
                         const char* op) {
  const int C = static_cast<int>(d.channels);
  const T* res = residual.empty() ? nullptr : residual.data<T>();
  with_channel_lanes(C, [&](auto lanes) {
    constexpr int CX = decltype(lanes)::value;
    const dim3 block(CX, Tile<CX>::kRY);
    const dim3 grid = grid_for_tiles(d.rows, C, CX, 1);
    normalize_kernel<T, CX><<<grid, block, 0, stream.handle()>>>(
        x.data<T>(), gamma.data<T>(), beta.data<T>(), mean.data<float>(), scale.data<float>(),
        scale_is_var, static_cast<float>(eps), res, act == BnActivation::Relu, y.data<T>(), d.rows,
        C);
    AUGUR_CHECK_LAUNCH(op, stream.handle());
  });
}

void launch_normalize(const bn_args::BnDims& d, const TensorView& x, const TensorView& gamma,
                      const TensorView& beta, const TensorView& mean, const TensorView& scale,
                      bool scale_is_var, double eps, const TensorView& residual, BnActivation act,
                      const TensorView& y, const Stream& stream, const char* op) {
  check_channels_fit(op, d.channels);
  if (d.rows == 0 || d.channels == 0) return;
  if (is_bf16(x))
    launch_normalize_as<__nv_bfloat16>(d, x, gamma, beta, mean, scale, scale_is_var, eps, residual,
                                       act, y, stream, op);
  else
    launch_normalize_as<float>(d, x, gamma, beta, mean, scale, scale_is_var, eps, residual, act, y,
                               stream, op);
}

// bf16 mode: x, gamma, beta, residual and y bf16; the statistics f32 (as on the CPU).
void check_normalize_mix(const char* op, const TensorView& x, const TensorView& gamma,
                         const TensorView& beta, const TensorView& mean, const TensorView& scale,
                         const TensorView& residual, const TensorView& y, const char* mean_name,
                         const char* scale_name) {
  if (is_bf16(x) || is_bf16(gamma) || is_bf16(beta) || is_bf16(mean) || is_bf16(scale) ||
      is_bf16(residual) || is_bf16(y))
    require_bf16_mix(
        op, {{"x", &x}, {"gamma", &gamma}, {"beta", &beta}, {"residual", &residual}, {"y", &y}},
        {{mean_name, &mean}, {scale_name, &scale}});
}

}  // namespace

void batchnorm_forward_train(const TensorView& x, const TensorView& gamma, const TensorView& beta,
                             const TensorView& mean, const TensorView& invstd,
                             const TensorView& residual, BnActivation act, const TensorView& y,
                             const Stream& stream) {
  check_normalize_mix("batchnorm_forward_train", x, gamma, beta, mean, invstd, residual, y, "mean",
                      "invstd");
  const auto d = bn_args::check_forward_train(checked_as_f32(x), checked_as_f32(gamma),
                                              checked_as_f32(beta), mean, invstd,
                                              checked_as_f32(residual), checked_as_f32(y), false);
  launch_normalize(d, x, gamma, beta, mean, invstd, false, 0.0, residual, act, y, stream,
                   "batchnorm_forward_train");
}

void batchnorm_forward_infer(const TensorView& x, const TensorView& gamma, const TensorView& beta,
                             const TensorView& running_mean, const TensorView& running_var,
                             double eps, const TensorView& residual, BnActivation act,
                             const TensorView& y, const Stream& stream) {
  check_normalize_mix("batchnorm_forward_infer", x, gamma, beta, running_mean, running_var,
                      residual, y, "running_mean", "running_var");
  const auto d = bn_args::check_forward_infer(checked_as_f32(x), checked_as_f32(gamma),
                                              checked_as_f32(beta), running_mean, running_var, eps,
                                              checked_as_f32(residual), checked_as_f32(y), false);
  launch_normalize(d, x, gamma, beta, running_mean, running_var, true, eps, residual, act, y,
                   stream, "batchnorm_forward_infer");
}

namespace {

template <class T>
void backward_as(const bn_args::BnDims& d, const TensorView& x, const TensorView& y,
                 const TensorView& dy, const TensorView& gamma, const TensorView& mean,
                 const TensorView& invstd, BnActivation act, const TensorView& dx,
                 const TensorView& dgamma, const TensorView& dbeta, const TensorView& dresidual,
                 const Stream& stream) {
  const int C = static_cast<int>(d.channels);
  const bool relu = act == BnActivation::Relu;
  const T* py = relu ? y.data<T>() : nullptr;
  T* pdr = dresidual.empty() ? nullptr : dresidual.data<T>();
  with_channel_lanes(C, [&](auto lanes) {
    constexpr int CX = decltype(lanes)::value;
    const dim3 block(CX, Tile<CX>::kRY);
    const dim3 reduce_grid = grid_for_tiles(d.rows, C, CX, kMinRowsPerThread);
    const int parts = static_cast<int>(reduce_grid.y);
    // Workspace: the [2, C] totals, then the [parts, C] partial sums.
    char* ws =
        static_cast<char*>(DeviceContext::get(stream.device())
                               .resources(stream)
                               .workspace(sizeof(float) * 2 * C + sizeof(GradSums) * parts * C));
    auto* sums = reinterpret_cast<float*>(ws);
    auto* partial = reinterpret_cast<GradSums*>(ws + sizeof(float) * 2 * C);
    backward_partial_kernel<T, CX><<<reduce_grid, block, 0, stream.handle()>>>(
        x.data<T>(), py, dy.data<T>(), mean.data<float>(), relu, d.rows, C, partial);
    AUGUR_CHECK_LAUNCH("batchnorm_backward_partial", stream.handle());
    backward_finalize_kernel<CX><<<dim3(reduce_grid.x), block, 0, stream.handle()>>>(
        partial, parts, C, invstd.data<float>(), dgamma.data<float>(), dbeta.data<float>(), sums);
    AUGUR_CHECK_LAUNCH("batchnorm_backward_finalize", stream.handle());
    backward_input_kernel<T, CX><<<grid_for_tiles(d.rows, C, CX, 1), block, 0, stream.handle()>>>(
        x.data<T>(), py, dy.data<T>(), gamma.data<T>(), mean.data<float>(), invstd.data<float>(),
        sums, relu, d.rows, C, dx.data<T>(), pdr);
    AUGUR_CHECK_LAUNCH("batchnorm_backward_input", stream.handle());
  });
}

}  // namespace

void batchnorm_backward(const TensorView& x, const TensorView& y, const TensorView& dy,
                        const TensorView& gamma, const TensorView& mean, const TensorView& invstd,
                        BnActivation act, const TensorView& dx, const TensorView& dgamma,
                        const TensorView& dbeta, const TensorView& dresidual,
                        const Stream& stream) {
  const bool bf16 = is_bf16(x) || is_bf16(y) || is_bf16(dy) || is_bf16(gamma) || is_bf16(mean) ||
                    is_bf16(invstd) || is_bf16(dx) || is_bf16(dgamma) || is_bf16(dbeta) ||
                    is_bf16(dresidual);
  if (bf16)
    require_bf16_mix(
        "batchnorm_backward",
        {{"x", &x},
         {"y", &y},
         {"dy", &dy},
         {"gamma", &gamma},
         {"dx", &dx},
         {"dresidual", &dresidual}},
        {{"mean", &mean}, {"invstd", &invstd}, {"dgamma", &dgamma}, {"dbeta", &dbeta}});
  const auto d = bn_args::check_backward(
      checked_as_f32(x), checked_as_f32(y), checked_as_f32(dy), checked_as_f32(gamma), mean, invstd,
      act, checked_as_f32(dx), dgamma, dbeta, checked_as_f32(dresidual), false);
  check_channels_fit("batchnorm_backward", d.channels);
  if (x.numel() == 0) return;
  if (bf16)
    backward_as<__nv_bfloat16>(d, x, y, dy, gamma, mean, invstd, act, dx, dgamma, dbeta, dresidual,
                               stream);
  else
    backward_as<float>(d, x, y, dy, gamma, mean, invstd, act, dx, dgamma, dbeta, dresidual, stream);
}

}  // namespace augur::kernels::cuda
