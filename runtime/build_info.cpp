#include "runtime/build_info.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <nccl.h>

namespace augur {

namespace {
std::string cuda_style(int v) {  // 13000 -> "13.0"
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}
std::string cudnn_style(size_t v) {  // 91000 -> "9.10.0"
  return std::to_string(v / 10000) + "." + std::to_string((v % 10000) / 100) + "." +
         std::to_string(v % 100);
}
std::string nccl_style(int v) {  // 22800 -> "2.28.0"
  return std::to_string(v / 10000) + "." + std::to_string((v % 10000) / 100) + "." +
         std::to_string(v % 100);
}
}  // namespace

std::string augur_version() {
  return AUGUR_VERSION_STRING;
}
std::string cuda_architectures() {
  return AUGUR_WITH_CUDA ? AUGUR_CUDA_ARCHITECTURES : "none (built without CUDA)";
}

int cuda_driver_version() {
  int v = 0;
  if (cudaDriverGetVersion(&v) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return v;
}

std::vector<LibraryVersion> library_versions() {
  std::vector<LibraryVersion> out;
#if !AUGUR_WITH_CUDA
  for (const char* lib : {"CUDA runtime", "cuBLAS", "cuDNN", "NCCL"})
    out.push_back({lib, "not built (AUGUR_WITH_CUDA=OFF)", ""});
  return out;
#endif
  int rt = 0;
  (void)cudaRuntimeGetVersion(&rt);
  out.push_back({"CUDA runtime", cuda_style(CUDART_VERSION), rt ? cuda_style(rt) : ""});

  int maj = 0, min = 0, pat = 0;
  std::string cublas_loaded;
  if (cublasGetProperty(MAJOR_VERSION, &maj) == CUBLAS_STATUS_SUCCESS &&
      cublasGetProperty(MINOR_VERSION, &min) == CUBLAS_STATUS_SUCCESS &&
      cublasGetProperty(PATCH_LEVEL, &pat) == CUBLAS_STATUS_SUCCESS)
    cublas_loaded = std::to_string(maj) + "." + std::to_string(min) + "." + std::to_string(pat);
  out.push_back({"cuBLAS",
                 std::to_string(CUBLAS_VER_MAJOR) + "." + std::to_string(CUBLAS_VER_MINOR) + "." +
                     std::to_string(CUBLAS_VER_PATCH),
                 cublas_loaded});

  out.push_back({"cuDNN",
                 std::to_string(CUDNN_MAJOR) + "." + std::to_string(CUDNN_MINOR) + "." +
                     std::to_string(CUDNN_PATCHLEVEL),
                 cudnn_style(cudnnGetVersion())});

  int nccl = 0;
  std::string nccl_loaded;
  if (ncclGetVersion(&nccl) == ncclSuccess) nccl_loaded = nccl_style(nccl);
  out.push_back({"NCCL",
                 std::to_string(NCCL_MAJOR) + "." + std::to_string(NCCL_MINOR) + "." +
                     std::to_string(NCCL_PATCH),
                 nccl_loaded});
  return out;
}

}  // namespace augur
