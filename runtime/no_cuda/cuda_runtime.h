// The CUDA runtime API as a machine without a driver answers it, for builds without the
// toolkit (see README.md): every call reports that there is no device.
#pragma once

#include <cstddef>

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorCudartUnloading = 4,
  cudaErrorInsufficientDriver = 35,
  cudaErrorNoDevice = 100,
  cudaErrorNotReady = 600,
  cudaErrorPeerAccessAlreadyEnabled = 704,
};
enum cudaMemcpyKind { cudaMemcpyDeviceToDevice = 3, cudaMemcpyDefault = 4 };

struct CUstream_st;
struct CUevent_st;
using cudaStream_t = CUstream_st*;
using cudaEvent_t = CUevent_st*;

constexpr unsigned cudaStreamNonBlocking = 0x01;
constexpr unsigned cudaEventDefault = 0x00;
constexpr unsigned cudaEventDisableTiming = 0x02;
#define CUDART_VERSION 0

struct cudaDeviceProp {
  char name[256] = {};
  int major = 0, minor = 0, multiProcessorCount = 0;
  size_t totalGlobalMem = 0;
};

namespace augur::no_cuda {
constexpr cudaError_t kAbsent = cudaErrorNoDevice;
}

inline const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorNoDevice:
      return "no CUDA-capable device: this build of Augur has no CUDA backend "
             "(configured with AUGUR_WITH_CUDA=OFF)";
    default: return "CUDA is not available in this build";
  }
}
inline const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    default: return "cudaError";
  }
}
inline cudaError_t cudaGetLastError() {
  return cudaSuccess;
}
inline cudaError_t cudaGetDeviceCount(int* n) {
  *n = 0;
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaDriverGetVersion(int* v) {
  *v = 0;
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaRuntimeGetVersion(int* v) {
  *v = 0;
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp*, int) {
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaGetDevice(int* d) {
  *d = 0;
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaSetDevice(int) {
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaDeviceCanAccessPeer(int* ok, int, int) {
  *ok = 0;
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaDeviceEnablePeerAccess(int, unsigned) {
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaMalloc(void** p, size_t) {
  *p = nullptr;
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaFree(void*) {
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaMallocHost(void** p, size_t) {
  *p = nullptr;
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaFreeHost(void*) {
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  *free_bytes = *total_bytes = 0;
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaMemcpy(void*, const void*, size_t, cudaMemcpyKind) {
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaMemcpyAsync(void*, const void*, size_t, cudaMemcpyKind, cudaStream_t) {
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaMemcpyPeerAsync(void*, int, const void*, int, size_t, cudaStream_t) {
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaMemsetAsync(void*, int, size_t, cudaStream_t) {
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaStreamCreateWithPriority(cudaStream_t* s, unsigned, int) {
  *s = nullptr;
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaStreamDestroy(cudaStream_t) {
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t) {
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t, unsigned) {
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) {
  *e = nullptr;
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaEventDestroy(cudaEvent_t) {
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) {
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaEventSynchronize(cudaEvent_t) {
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaEventQuery(cudaEvent_t) {
  return augur::no_cuda::kAbsent;
}
inline cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t, cudaEvent_t) {
  *ms = 0;
  return augur::no_cuda::kAbsent;
}
