// NCCL as a machine without a driver answers it, for builds without the toolkit (README.md).
#pragma once

enum ncclResult_t { ncclSuccess = 0, ncclSystemError = 2, ncclInvalidArgument = 4 };
#define NCCL_MAJOR 0
#define NCCL_MINOR 0
#define NCCL_PATCH 0

inline ncclResult_t ncclGetVersion(int* v) {
  *v = 0;
  return ncclSystemError;
}
inline const char* ncclGetErrorString(ncclResult_t r) {
  return r == ncclSuccess ? "no error"
                          : "NCCL is not available in this build (AUGUR_WITH_CUDA=OFF)";
}
