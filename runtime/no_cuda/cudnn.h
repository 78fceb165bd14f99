// cuDNN as a machine without a driver answers it, for builds without the toolkit (README.md).
#pragma once

#include <cstddef>

#include "cuda_runtime.h"

enum cudnnStatus_t {
  CUDNN_STATUS_SUCCESS = 0,
  CUDNN_STATUS_NOT_INITIALIZED = 1001,
  CUDNN_STATUS_BAD_PARAM = 2000,
};
struct cudnnContext;
using cudnnHandle_t = cudnnContext*;
#define CUDNN_MAJOR 0
#define CUDNN_MINOR 0
#define CUDNN_PATCHLEVEL 0

inline size_t cudnnGetVersion() {
  return 0;
}
inline const char* cudnnGetErrorString(cudnnStatus_t s) {
  return s == CUDNN_STATUS_SUCCESS ? "CUDNN_STATUS_SUCCESS"
                                   : "cuDNN is not available in this build (AUGUR_WITH_CUDA=OFF)";
}
inline cudnnStatus_t cudnnCreate(cudnnHandle_t* h) {
  *h = nullptr;
  return CUDNN_STATUS_NOT_INITIALIZED;
}
inline cudnnStatus_t cudnnDestroy(cudnnHandle_t) {
  return CUDNN_STATUS_NOT_INITIALIZED;
}
inline cudnnStatus_t cudnnSetStream(cudnnHandle_t, cudaStream_t) {
  return CUDNN_STATUS_NOT_INITIALIZED;
}
