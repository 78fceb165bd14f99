// Streams and events. On the CPU backend work runs synchronously on the calling thread, so
// a CPU stream is a no-op handle and a CPU event only remembers when it was recorded.
#pragma once

#include <cuda_runtime.h>

#include <chrono>

#include "runtime/device.h"

namespace augur {

class Stream {
 public:
  // The CPU stream, or the legacy default stream of a CUDA device.
  Stream() = default;
  static Stream cpu() { return Stream(); }
  // A new non-blocking stream on `device` (a no-op handle on CPU). Lower priority values
  // run first, as in CUDA.
  static Stream create(const Device& device, int priority = 0);
  // Wraps an existing handle without owning it.
  static Stream wrap(const Device& device, cudaStream_t handle);

  ~Stream();
  Stream(Stream&& other) noexcept;
  Stream& operator=(Stream&& other) noexcept;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  const Device& device() const { return device_; }
  cudaStream_t handle() const { return handle_; }
  void synchronize() const;

 private:
  Device device_ = Device::cpu();
  cudaStream_t handle_ = nullptr;
  bool owned_ = false;
};

class Event {
 public:
  explicit Event(const Device& device = Device::cpu(), bool timing = false);
  ~Event();
  Event(Event&& other) noexcept;
  Event& operator=(Event&& other) noexcept;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  void record(const Stream& stream);
  // Makes `stream` wait until the work recorded before this event is done.
  void wait(const Stream& stream) const;
  void synchronize() const;
  bool query() const;
  // Milliseconds between two recorded events (both need timing=true on CUDA).
  float elapsed_ms(const Event& later) const;

  const Device& device() const { return device_; }

 private:
  void destroy() noexcept;
  Device device_;
  bool timing_ = false;
  cudaEvent_t handle_ = nullptr;
  std::chrono::steady_clock::time_point cpu_time_{};
};

}  // namespace augur
