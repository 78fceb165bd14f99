#include "runtime/buffer.h"

#include <cstdlib>
#include <cstring>
#include <utility>

#include "runtime/cuda_check.h"
#include "runtime/stream.h"

namespace augur {

Buffer::Buffer(const Device& device, size_t bytes, const Stream* stream)
    : device_(device), bytes_(bytes) {
  if (stream) {
    AUGUR_ARG_CHECK(stream->device() == device, "buffer on ", device.str(),
                    " bound to a stream of ", stream->device().str());
    stream_ = stream->handle();
  }
  block_ = CachingAllocator::for_device(device).allocate(bytes);
}

Buffer::Buffer(Buffer&& other) noexcept
    : device_(other.device_),
      block_(std::exchange(other.block_, Block{})),
      bytes_(std::exchange(other.bytes_, 0)),
      stream_(other.stream_) {}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    reset();
    device_ = other.device_;
    block_ = std::exchange(other.block_, Block{});
    bytes_ = std::exchange(other.bytes_, 0);
    stream_ = other.stream_;
  }
  return *this;
}

void Buffer::reset() {
  if (block_.ptr) {
    CachingAllocator::for_device(device_).release(block_, stream_);
    block_ = Block{};
    bytes_ = 0;
  }
}

void Buffer::set_stream(const Stream& stream) {
  AUGUR_ARG_CHECK(stream.device() == device_, "buffer on ", device_.str(),
                  " handed to a stream of ", stream.device().str());
  stream_ = stream.handle();
}

void Buffer::zero(const Stream& stream) {
  if (!block_.ptr) return;
  if (device_.is_cpu()) {
    std::memset(block_.ptr, 0, bytes_);
  } else {
    DeviceGuard guard(device_);
    CUDA_CHECK(cudaMemsetAsync(block_.ptr, 0, bytes_, stream.handle()));
  }
}

PinnedBuffer::PinnedBuffer(size_t bytes) : bytes_(bytes) {
  const size_t alloc = bytes == 0 ? 1 : bytes;
  if (cuda_device_count() > 0) {
    CUDA_CHECK(cudaMallocHost(&ptr_, alloc));
    pinned_ = true;
  } else {
    ptr_ = std::aligned_alloc(256, (alloc + 255) / 256 * 256);
    if (!ptr_) throw Error("out of host memory allocating " + std::to_string(bytes) + " bytes");
  }
}

PinnedBuffer::PinnedBuffer(PinnedBuffer&& other) noexcept
    : ptr_(std::exchange(other.ptr_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      pinned_(other.pinned_) {}

PinnedBuffer& PinnedBuffer::operator=(PinnedBuffer&& other) noexcept {
  if (this != &other) {
    reset();
    ptr_ = std::exchange(other.ptr_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    pinned_ = other.pinned_;
  }
  return *this;
}

void PinnedBuffer::reset() {
  if (!ptr_) return;
  if (pinned_)
    (void)cudaFreeHost(ptr_);
  else
    std::free(ptr_);
  ptr_ = nullptr;
  bytes_ = 0;
}

}  // namespace augur
