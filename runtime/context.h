// Per-device library state. cuBLAS and cuDNN handles are not safe to share between threads
// that use different streams at once (each call binds the handle to a stream), and one
// workspace cannot serve two streams concurrently; so each (device, stream) pair gets its
// own handles and workspace, created on first use.
#pragma once

#include <cublas_v2.h>
#include <cudnn.h>

#include <map>
#include <memory>
#include <mutex>

#include "runtime/buffer.h"
#include "runtime/device.h"
#include "runtime/stream.h"

namespace augur {

class StreamResources {
 public:
  StreamResources(const Device& device, cudaStream_t stream);
  ~StreamResources();
  StreamResources(const StreamResources&) = delete;
  StreamResources& operator=(const StreamResources&) = delete;

  cublasHandle_t cublas();
  cudnnHandle_t cudnn();
  // Scratch memory of at least `bytes`, valid until the next call on this stream.
  void* workspace(size_t bytes);
  size_t workspace_bytes() const { return workspace_.bytes(); }

 private:
  Device device_;
  cudaStream_t stream_;
  cublasHandle_t cublas_ = nullptr;
  cudnnHandle_t cudnn_ = nullptr;
  Buffer workspace_;
};

class DeviceContext {
 public:
  // The context of a CUDA device; throws for the CPU or a device that does not exist.
  static DeviceContext& get(const Device& device);
  const Device& device() const { return device_; }
  // Handles and workspace bound to `stream` (which must belong to this device).
  StreamResources& resources(const Stream& stream);
  // The device's name and compute capability, as the driver reports them.
  std::string description() const;

  explicit DeviceContext(const Device& device);

 private:
  Device device_;
  std::mutex mutex_;
  std::map<cudaStream_t, std::unique_ptr<StreamResources>> per_stream_;
};

}  // namespace augur
