// cuBLAS as a machine without a driver answers it, for builds without the toolkit (README.md).
#pragma once

#include "cuda_runtime.h"

enum cublasStatus_t {
  CUBLAS_STATUS_SUCCESS = 0,
  CUBLAS_STATUS_NOT_INITIALIZED = 1,
  CUBLAS_STATUS_ALLOC_FAILED = 3,
  CUBLAS_STATUS_INVALID_VALUE = 7,
  CUBLAS_STATUS_ARCH_MISMATCH = 8,
  CUBLAS_STATUS_MAPPING_ERROR = 11,
  CUBLAS_STATUS_EXECUTION_FAILED = 13,
  CUBLAS_STATUS_INTERNAL_ERROR = 14,
  CUBLAS_STATUS_NOT_SUPPORTED = 15,
  CUBLAS_STATUS_LICENSE_ERROR = 16,
};
enum cublasOperation_t { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 };
enum libraryPropertyType { MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL };
struct cublasContext;
using cublasHandle_t = cublasContext*;
#define CUBLAS_VER_MAJOR 0
#define CUBLAS_VER_MINOR 0
#define CUBLAS_VER_PATCH 0

inline cublasStatus_t cublasCreate(cublasHandle_t* h) {
  *h = nullptr;
  return CUBLAS_STATUS_NOT_INITIALIZED;
}
inline cublasStatus_t cublasDestroy(cublasHandle_t) {
  return CUBLAS_STATUS_NOT_INITIALIZED;
}
inline cublasStatus_t cublasSetStream(cublasHandle_t, cudaStream_t) {
  return CUBLAS_STATUS_NOT_INITIALIZED;
}
inline cublasStatus_t cublasGetStream(cublasHandle_t, cudaStream_t* s) {
  *s = nullptr;
  return CUBLAS_STATUS_NOT_INITIALIZED;
}
inline cublasStatus_t cublasGetProperty(libraryPropertyType, int* v) {
  *v = 0;
  return CUBLAS_STATUS_NOT_INITIALIZED;
}
inline cublasStatus_t cublasSgemm(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int,
                                  int, const float*, const float*, int, const float*, int,
                                  const float*, float*, int) {
  return CUBLAS_STATUS_NOT_INITIALIZED;
}
