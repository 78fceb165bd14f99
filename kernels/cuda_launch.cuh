// Launch helpers for the .cu files of kernels/ (the only place kernels are launched).
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "runtime/cuda_check.h"

namespace augur::kernels::cuda {

constexpr int kBlock = 256;

// Blocks for a grid-stride loop over n items: enough to fill the device, never more than
// the work needs.
inline int grid_for(int64_t n, int block = kBlock) {
  const int64_t blocks = (n + block - 1) / block;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(blocks, 65535LL * 8)));
}

}  // namespace augur::kernels::cuda
