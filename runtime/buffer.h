// Owning memory: RAII, move-only. Device buffers come from the device's caching allocator;
// pinned host buffers are page-locked so host<->device copies can run asynchronously.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

#include "runtime/allocator.h"
#include "runtime/device.h"

namespace augur {

class Stream;

class Buffer {
 public:
  Buffer() = default;
  // `stream`: the stream that will use the buffer; its release waits for that stream's work.
  Buffer(const Device& device, size_t bytes, const Stream* stream = nullptr);
  ~Buffer() { reset(); }
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* data() const { return block_.ptr; }
  template <class T>
  T* as() const {
    return static_cast<T*>(block_.ptr);
  }
  size_t bytes() const { return bytes_; }
  size_t capacity() const { return block_.size; }
  const Device& device() const { return device_; }
  bool empty() const { return block_.ptr == nullptr; }
  // Sets every byte to zero, on `stream` for CUDA.
  void zero(const Stream& stream);
  // The stream whose queued work must finish before the memory is reused: set it when the
  // buffer changes hands to a consumer that waited for the producer (so its stream orders
  // after the producer's work).
  void set_stream(const Stream& stream);
  void reset();

 private:
  Device device_ = Device::cpu();
  Block block_;
  size_t bytes_ = 0;
  cudaStream_t stream_ = nullptr;
};

// Page-locked host memory on machines with a CUDA driver; ordinary aligned host memory where
// there is none (it only ever stages host data, so nothing changes but copy overlap).
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  explicit PinnedBuffer(size_t bytes);
  ~PinnedBuffer() { reset(); }
  PinnedBuffer(PinnedBuffer&& other) noexcept;
  PinnedBuffer& operator=(PinnedBuffer&& other) noexcept;
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;

  void* data() const { return ptr_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  size_t bytes() const { return bytes_; }
  bool pinned() const { return pinned_; }
  void reset();

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
  bool pinned_ = false;
};

}  // namespace augur
