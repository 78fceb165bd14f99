// Checks for the CUDA family of libraries. Each throws augur::Error carrying the failing
// expression, file:line and the library's own error string.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <nccl.h>

#include "runtime/error.h"

namespace augur::detail {

[[noreturn]] void cuda_failed(cudaError_t err, const char* expr, const char* file, int line);
[[noreturn]] void cublas_failed(cublasStatus_t st, const char* expr, const char* file, int line);
[[noreturn]] void cudnn_failed(cudnnStatus_t st, const char* expr, const char* file, int line);
[[noreturn]] void nccl_failed(ncclResult_t st, const char* expr, const char* file, int line);
const char* cublas_status_name(cublasStatus_t st);

// After a kernel launch: surfaces launch errors, and with AUGUR_DEBUG_SYNC=1 synchronises
// the stream so an asynchronous fault is reported at the launch that caused it.
void check_launch(const char* kernel, cudaStream_t stream, const char* file, int line);

// Teardown (destructors, noexcept members): never throws. Reports the first failure of the
// process on stderr and stays quiet after it, so the error that unwound the stack (a faulting
// kernel leaves every later CUDA call failing) is the one the user reads. CUDA's own shutdown
// (cudaErrorCudartUnloading) is not a failure. Returns whether the call succeeded.
bool cuda_ok_nothrow(cudaError_t err, const char* expr, const char* file, int line) noexcept;

}  // namespace augur::detail

#define CUDA_CHECK(expr)                                                   \
  do {                                                                     \
    cudaError_t augur_err_ = (expr);                                       \
    if (augur_err_ != cudaSuccess)                                         \
      ::augur::detail::cuda_failed(augur_err_, #expr, __FILE__, __LINE__); \
  } while (0)

#define CUDA_CHECK_NOTHROW(expr) ::augur::detail::cuda_ok_nothrow((expr), #expr, __FILE__, __LINE__)

#define CUBLAS_CHECK(expr)                                                  \
  do {                                                                      \
    cublasStatus_t augur_st_ = (expr);                                      \
    if (augur_st_ != CUBLAS_STATUS_SUCCESS)                                 \
      ::augur::detail::cublas_failed(augur_st_, #expr, __FILE__, __LINE__); \
  } while (0)

#define CUDNN_CHECK(expr)                                                  \
  do {                                                                     \
    cudnnStatus_t augur_st_ = (expr);                                      \
    if (augur_st_ != CUDNN_STATUS_SUCCESS)                                 \
      ::augur::detail::cudnn_failed(augur_st_, #expr, __FILE__, __LINE__); \
  } while (0)

#define NCCL_CHECK(expr)                                                  \
  do {                                                                    \
    ncclResult_t augur_st_ = (expr);                                      \
    if (augur_st_ != ncclSuccess)                                         \
      ::augur::detail::nccl_failed(augur_st_, #expr, __FILE__, __LINE__); \
  } while (0)

#define AUGUR_CHECK_LAUNCH(kernel_name, stream) \
  ::augur::detail::check_launch(kernel_name, stream, __FILE__, __LINE__)
