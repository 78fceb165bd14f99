#include <cuda_bf16.h>

#include "kernels/convert.h"
#include "kernels/cuda_launch.cuh"

namespace augur::kernels::cuda {

namespace {

__global__ void f32_to_bf16_kernel(const float* __restrict__ src, __nv_bfloat16* dst, int64_t n) {
  for_each_index(n, [&](int64_t i) { dst[i] = __float2bfloat16_rn(src[i]); });
}

__global__ void bf16_to_f32_kernel(const __nv_bfloat16* __restrict__ src, float* dst, int64_t n) {
  for_each_index(n, [&](int64_t i) { dst[i] = __bfloat162float(src[i]); });
}

}  // namespace

void convert(const TensorView& src, const TensorView& dst, const Stream& stream) {
  detail::check_convert(src, dst, false);
  const int64_t n = src.numel();
  if (n == 0) return;
  if (src.dtype() == dst.dtype()) {
    copy(dst, src, stream);
  } else if (dst.dtype() == DType::BF16) {
    launch_linear("convert f32->bf16", f32_to_bf16_kernel, n, stream, src.data<float>(),
                  dst.data<__nv_bfloat16>(), n);
  } else {
    launch_linear("convert bf16->f32", bf16_to_f32_kernel, n, stream, src.data<__nv_bfloat16>(),
                  dst.data<float>(), n);
  }
}

}  // namespace augur::kernels::cuda
