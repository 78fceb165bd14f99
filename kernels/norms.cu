// Two-stage deterministic reduction: a fixed number of blocks (a function of the element count
// only) each reduce a grid-stride slice into a partial in the stream's workspace, then one
// block reduces the partials in a fixed order. Sums are in double.
#include <cub/block/block_reduce.cuh>

#include <type_traits>

#include "kernels/cuda_launch.cuh"
#include "kernels/dispatch.h"
#include "kernels/norms.h"
#include "runtime/context.h"

namespace augur::kernels::cuda {

namespace {

constexpr int kMaxPartials = 1024;

struct SumPair {
  double diff, norm;
};

struct AddPairs {
  __device__ SumPair operator()(const SumPair& x, const SumPair& y) const {
    return {x.diff + y.diff, x.norm + y.norm};
  }
};

template <class T>
__device__ __forceinline__ double load(const T* p, int64_t i) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>)
    return double(__bfloat162float(p[i]));
  else
    return double(p[i]);
}

using Reduce = cub::BlockReduce<SumPair, kBlock>;

template <class A, class B>
__global__ void __launch_bounds__(kBlock)
    norm_partials_kernel(const A* __restrict__ a, const B* __restrict__ b, int64_t n,
                         SumPair* partials) {
  __shared__ typename Reduce::TempStorage temp;
  SumPair s{0, 0};
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const double x = load(a, i);
    const double d = b ? x - load(b, i) : x;
    s.diff += d * d;
    s.norm += x * x;
  }
  const SumPair total = Reduce(temp).Reduce(s, AddPairs());
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

__global__ void __launch_bounds__(kBlock)
    norm_finish_kernel(const SumPair* partials, int count, double* out) {
  __shared__ typename Reduce::TempStorage temp;
  SumPair s{0, 0};
  for (int i = threadIdx.x; i < count; i += blockDim.x) {
    s.diff += partials[i].diff;
    s.norm += partials[i].norm;
  }
  const SumPair total = Reduce(temp).Reduce(s, AddPairs());
  if (threadIdx.x == 0) {
    out[0] = sqrt(total.diff);
    out[1] = sqrt(total.norm);
  }
}

template <class A, class B>
void launch(const TensorView& a, const TensorView& b, const TensorView& out, const Stream& stream) {
  const int64_t n = a.numel();
  const int blocks = static_cast<int>(
      std::max<int64_t>(1, std::min<int64_t>((n + kBlock - 1) / kBlock, kMaxPartials)));
  auto* partials = static_cast<SumPair*>(
      DeviceContext::get(stream.device()).resources(stream).workspace(blocks * sizeof(SumPair)));
  const B* pb = b.empty() ? nullptr : static_cast<const B*>(b.raw());
  norm_partials_kernel<A, B>
      <<<blocks, kBlock, 0, stream.handle()>>>(static_cast<const A*>(a.raw()), pb, n, partials);
  AUGUR_CHECK_LAUNCH("norm_diff_and_norm (partials)", stream.handle());
  norm_finish_kernel<<<1, kBlock, 0, stream.handle()>>>(partials, blocks, out.data<double>());
  AUGUR_CHECK_LAUNCH("norm_diff_and_norm (finish)", stream.handle());
}

template <class A>
void launch_b(const TensorView& a, const TensorView& b, const TensorView& out,
              const Stream& stream) {
  if (!b.empty() && b.dtype() == DType::BF16)
    launch<A, __nv_bfloat16>(a, b, out, stream);
  else
    launch<A, float>(a, b, out, stream);
}

}  // namespace

void norm_diff_and_norm(const TensorView& a, const TensorView& b, const TensorView& out,
                        const Stream& stream) {
  detail::check_norm_args(a, b, out, false);
  if (a.dtype() == DType::BF16)
    launch_b<__nv_bfloat16>(a, b, out, stream);
  else
    launch_b<float>(a, b, out, stream);
}

}  // namespace augur::kernels::cuda
