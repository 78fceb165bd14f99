#include "runtime/cuda_check.h"

#include <atomic>
#include <cstdio>
#include <sstream>

#include "runtime/debug.h"

namespace augur::detail {

namespace {
[[noreturn]] void library_failed(const char* lib, int code, const char* text, const char* expr,
                                 const char* file, int line) {
  std::ostringstream os;
  os << lib << " error " << code << " (" << text << ") in " << expr << " at " << file << ":"
     << line;
  throw Error(os.str());
}
}  // namespace

bool cuda_ok_nothrow(cudaError_t err, const char* expr, const char* file, int line) noexcept {
  if (err == cudaSuccess) return true;
  if (err != cudaErrorCudartUnloading) {
    static std::atomic<bool> reported{false};
    if (!reported.exchange(true))
      std::fprintf(stderr, "augur: during cleanup: CUDA error %d (%s) in %s at %s:%d\n",
                   static_cast<int>(err), cudaGetErrorString(err), expr, file, line);
  }
  (void)cudaGetLastError();
  return false;
}

void cuda_failed(cudaError_t err, const char* expr, const char* file, int line) {
  // Clear the sticky-free error state so a caller that recovers sees a clean slate.
  (void)cudaGetLastError();
  library_failed("CUDA", static_cast<int>(err), cudaGetErrorString(err), expr, file, line);
}

const char* cublas_status_name(cublasStatus_t st) {
  switch (st) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
  }
  return "unknown cuBLAS status";
}

void cublas_failed(cublasStatus_t st, const char* expr, const char* file, int line) {
  library_failed("cuBLAS", static_cast<int>(st), cublas_status_name(st), expr, file, line);
}

void cudnn_failed(cudnnStatus_t st, const char* expr, const char* file, int line) {
  library_failed("cuDNN", static_cast<int>(st), cudnnGetErrorString(st), expr, file, line);
}

void nccl_failed(ncclResult_t st, const char* expr, const char* file, int line) {
  library_failed("NCCL", static_cast<int>(st), ncclGetErrorString(st), expr, file, line);
}

void check_launch(const char* kernel, cudaStream_t stream, const char* file, int line) {
  cudaError_t err = cudaGetLastError();
  if (err == cudaSuccess && debug_sync_enabled()) err = cudaStreamSynchronize(stream);
  if (err != cudaSuccess) {
    std::ostringstream os;
    os << "launch of " << kernel;
    const std::string what = os.str();
    cuda_failed(err, what.c_str(), file, line);
  }
}

}  // namespace augur::detail
