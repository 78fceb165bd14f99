// Launch helpers for the .cu files of kernels/ (the only place kernels are launched). One
// path computes the grid, launches on the stream and checks the launch, so no kernel family
// writes its own grid arithmetic; the dispatcher (dispatch.h) has already made the stream's
// device current.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "runtime/cuda_check.h"
#include "runtime/stream.h"

namespace augur::kernels::cuda {

constexpr int kBlock = 256;

// Blocks for a grid-stride loop over n items: enough to fill the device, never more than
// the work needs.
inline int grid_for(int64_t n, int block = kBlock) {
  const int64_t blocks = (n + block - 1) / block;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(blocks, 65535LL * 8)));
}

// Device side: the grid-stride loop over [0, n) that every one-thread-per-item kernel runs,
// with index type I (int32_t where the caller proved every index fits, else int64_t).
template <class I, class F>
__device__ __forceinline__ void for_each_index(I n, F f) {
  for (I i = static_cast<I>(blockIdx.x) * I(blockDim.x) + I(threadIdx.x); i < n;
       i += I(gridDim.x) * I(blockDim.x))
    f(i);
}

// Host side: launches `kernel` over n items (grid_for(n) blocks of kBlock threads) on
// `stream` and checks the launch; nothing is launched for n == 0.
template <class... Params, class... Args>
void launch_linear(const char* name, void (*kernel)(Params...), int64_t n, const Stream& stream,
                   Args&&... args) {
  if (n <= 0) return;
  kernel<<<grid_for(n), kBlock, 0, stream.handle()>>>(std::forward<Args>(args)...);
  AUGUR_CHECK_LAUNCH(name, stream.handle());
}

}  // namespace augur::kernels::cuda
