// The fused optimizer pass is bandwidth-bound (a handful of FMAs per 24-36 bytes), so the
// kernel is built for memory traffic: each thread moves 16-byte vectors (float4) of every
// arena it touches, in a grid-stride loop sized to fill the device a few times over, with the
// elements that do not fill a vector handled after the loop. Arenas that are not 16-byte
// aligned (a view into the middle of an arena) take the same kernel with one element per
// vector. Which arenas are read and written is decided once on the host (uniform branches).
#include <type_traits>

#include "kernels/cuda_launch.cuh"
#include "kernels/dispatch.h"
#include "kernels/optimizer_update.h"

namespace augur::kernels::cuda {

namespace {

struct NoPrediction {};

struct Arena {
  float* w;
  float* g;
  float* s1;
  float* s2;
  void* pred;
  __nv_bfloat16* copy;  // the bf16 copy of the updated weights, or null
  const int64_t* table;
  int64_t table_count;
  int64_t n;
  detail::OptimizerAccess acc;
  StepCoeffs<float> c;
  PredictCoeffs<float> p;
};

template <int V>
__device__ __forceinline__ void load(float (&r)[V], const float* p) {
  if constexpr (V == 4) {
    const float4 x = *reinterpret_cast<const float4*>(p);
    r[0] = x.x;
    r[1] = x.y;
    r[2] = x.z;
    r[3] = x.w;
  } else {
    for (int l = 0; l < V; ++l) r[l] = p[l];
  }
}

template <int V>
__device__ __forceinline__ void store(float* p, const float (&r)[V]) {
  if constexpr (V == 4) {
    *reinterpret_cast<float4*>(p) = make_float4(r[0], r[1], r[2], r[3]);
  } else {
    for (int l = 0; l < V; ++l) p[l] = r[l];
  }
}

template <int V, class P>
__device__ __forceinline__ void store_pred(void* base, int64_t i, const float (&r)[V]) {
  if constexpr (std::is_same_v<P, float>) {
    store<V>(static_cast<float*>(base) + i, r);
  } else if constexpr (std::is_same_v<P, __nv_bfloat16> && V == 4) {
    const __nv_bfloat162 lo = __floats2bfloat162_rn(r[0], r[1]);
    const __nv_bfloat162 hi = __floats2bfloat162_rn(r[2], r[3]);
    uint2 packed;  // one 8-byte store
    packed.x = reinterpret_cast<const uint32_t&>(lo);
    packed.y = reinterpret_cast<const uint32_t&>(hi);
    *reinterpret_cast<uint2*>(static_cast<__nv_bfloat16*>(base) + i) = packed;
  } else if constexpr (std::is_same_v<P, __nv_bfloat16>) {
    for (int l = 0; l < V; ++l) static_cast<__nv_bfloat16*>(base)[i + l] = store_as<P>(r[l]);
  }
}

// Elements [base, base + V) of the fused pass.
template <int V, class P>
__device__ __forceinline__ void step_group(const Arena& a, int64_t base, DecayCursor& cursor) {
  float w[V], g[V], s1[V], s2[V], pred[V];
  load<V>(w, a.w + base);
  load<V>(g, a.g + base);
  if (a.acc.read_state1)
    load<V>(s1, a.s1 + base);
  else
    for (int l = 0; l < V; ++l) s1[l] = 0.f;
  if (a.acc.read_state2)
    load<V>(s2, a.s2 + base);
  else
    for (int l = 0; l < V; ++l) s2[l] = 0.f;
#pragma unroll
  for (int l = 0; l < V; ++l)
    pred[l] = step_and_predict_element(w[l], g[l], s1[l], s2[l], cursor.decays(base + l), a.c, a.p);
  store<V>(a.w + base, w);
  if (a.acc.write_copy) store_pred<V, __nv_bfloat16>(a.copy, base, w);
  if (a.acc.write_state1) store<V>(a.s1 + base, s1);
  if (a.acc.write_state2) store<V>(a.s2 + base, s2);
  if (a.acc.zero_grads) {
    float zero[V];
    for (int l = 0; l < V; ++l) zero[l] = 0.f;
    store<V>(a.g + base, zero);
  }
  if constexpr (!std::is_same_v<P, NoPrediction>) store_pred<V, P>(a.pred, base, pred);
}

template <int V, class P>
__device__ __forceinline__ void predict_group(const Arena& a, int64_t base, DecayCursor& cursor) {
  float w[V], g[V], s1[V], s2[V], pred[V];
  load<V>(w, a.w + base);
  if (a.acc.read_grads)
    load<V>(g, a.g + base);
  else
    for (int l = 0; l < V; ++l) g[l] = 0.f;
  if (a.acc.read_state1)
    load<V>(s1, a.s1 + base);
  else
    for (int l = 0; l < V; ++l) s1[l] = 0.f;
  if (a.acc.read_state2)
    load<V>(s2, a.s2 + base);
  else
    for (int l = 0; l < V; ++l) s2[l] = 0.f;
#pragma unroll
  for (int l = 0; l < V; ++l)
    pred[l] = predict_only_element(w[l], g[l], s1[l], s2[l], cursor.decays(base + l), a.c, a.p);
  store_pred<V, P>(a.pred, base, pred);
}

// Vectors of V elements in a grid-stride loop, then the n % V elements left, one per thread;
// each thread's indices only grow, as the decay cursor needs.
template <bool PredictOnly, int V, class P>
__global__ void __launch_bounds__(kBlock) optimizer_kernel(const Arena a) {
  const int64_t groups = a.n / V;
  const int64_t first = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  DecayCursor cursor(a.table, a.table_count, grid_stride_first_index(first, a.n, V));
  for (int64_t gi = first; gi < groups; gi += int64_t(gridDim.x) * blockDim.x) {
    if constexpr (PredictOnly)
      predict_group<V, P>(a, gi * V, cursor);
    else
      step_group<V, P>(a, gi * V, cursor);
  }
  if constexpr (V > 1) {
    const int64_t i = groups * V + first;
    if (i < a.n) {
      if constexpr (PredictOnly)
        predict_group<1, P>(a, i, cursor);
      else
        step_group<1, P>(a, i, cursor);
    }
  }
}

bool aligned(const void* p, size_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % bytes == 0;
}

// One wave of resident blocks: every thread runs several iterations, so its cursor's binary
// search is paid once, and no partial last wave is left to straggle.
template <class Kernel>
int blocks_for(Kernel kernel, int64_t groups, const Device& device) {
  int sms = 0, per_sm = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device.index));
  CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kBlock, 0));
  const int64_t need = (groups + kBlock - 1) / kBlock;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(need, int64_t(sms) * per_sm)));
}

template <bool PredictOnly, class P>
void launch(const char* op, const Arena& a, const Stream& stream) {
  const size_t pred_vec = std::is_same_v<P, __nv_bfloat16> ? 8 : 16;
  const bool vec = aligned(a.w, 16) && aligned(a.g, 16) && aligned(a.s1, 16) && aligned(a.s2, 16) &&
                   aligned(a.pred, pred_vec) && aligned(a.copy, 8);
  if (vec) {
    auto* kernel = optimizer_kernel<PredictOnly, 4, P>;
    kernel<<<blocks_for(kernel, a.n / 4, stream.device()), kBlock, 0, stream.handle()>>>(a);
  } else {
    auto* kernel = optimizer_kernel<PredictOnly, 1, P>;
    kernel<<<blocks_for(kernel, a.n, stream.device()), kBlock, 0, stream.handle()>>>(a);
  }
  AUGUR_CHECK_LAUNCH(op, stream.handle());
}

Arena make_arena(const TensorView& w, const TensorView& g, const TensorView& s1,
                 const TensorView& s2, const TensorView& no_decay, const TensorView& pred,
                 const detail::OptimizerAccess& acc, const StepScalars& step,
                 const PredictScalars& predict) {
  Arena a{};
  a.w = w.data<float>();
  a.g = acc.read_grads ? g.data<float>() : nullptr;
  a.s1 = acc.read_state1 || acc.write_state1 ? s1.data<float>() : nullptr;
  a.s2 = acc.read_state2 || acc.write_state2 ? s2.data<float>() : nullptr;
  a.pred = pred.raw();
  a.copy = nullptr;
  a.table = no_decay.empty() ? nullptr : no_decay.data<int64_t>();
  a.table_count = no_decay.empty() ? 0 : no_decay.dim(0);
  a.n = w.numel();
  a.acc = acc;
  a.c = step_coeffs<float>(step);
  a.p = predict_coeffs<float>(predict);
  return a;
}

}  // namespace

void optimizer_step(const TensorView& weights, const TensorView& grads, const TensorView& state1,
                    const TensorView& state2, const TensorView& no_decay,
                    const TensorView& predicted, const StepScalars& step,
                    const PredictScalars& predict, const Stream& stream,
                    const TensorView& weights_copy) {
  auto acc = detail::check_optimizer_args("optimizer_step", false, weights, grads, state1, state2,
                                          no_decay, predicted, step, predict, false);
  detail::check_weights_copy(weights, predicted, weights_copy, &acc);
  if (weights.numel() == 0) return;
  Arena a = make_arena(weights, grads, state1, state2, no_decay, predicted, acc, step, predict);
  if (acc.write_copy) a.copy = static_cast<__nv_bfloat16*>(weights_copy.raw());
  if (predicted.empty())
    launch<false, NoPrediction>("optimizer_step", a, stream);
  else if (predicted.dtype() == DType::BF16)
    launch<false, __nv_bfloat16>("optimizer_step", a, stream);
  else
    launch<false, float>("optimizer_step", a, stream);
}

void predict_weights(const TensorView& weights, const TensorView& grads, const TensorView& state1,
                     const TensorView& state2, const TensorView& no_decay,
                     const TensorView& predicted, const StepScalars& step,
                     const PredictScalars& predict, const Stream& stream) {
  const auto acc = detail::check_optimizer_args("predict_weights", true, weights, grads, state1,
                                                state2, no_decay, predicted, step, predict, false);
  if (weights.numel() == 0) return;
  const Arena a =
      make_arena(weights, grads, state1, state2, no_decay, predicted, acc, step, predict);
  if (predicted.dtype() == DType::BF16)
    launch<true, __nv_bfloat16>("predict_weights", a, stream);
  else
    launch<true, float>("predict_weights", a, stream);
}

}  // namespace augur::kernels::cuda
