#include "runtime/stream.h"

#include <utility>

#include "runtime/cuda_check.h"

namespace augur {

Stream Stream::create(const Device& device, int priority) {
  Stream s;
  s.device_ = device;
  if (device.is_cuda()) {
    require_device(device);
    DeviceGuard guard(device);
    CUDA_CHECK(cudaStreamCreateWithPriority(&s.handle_, cudaStreamNonBlocking, priority));
    s.owned_ = true;
  }
  return s;
}

Stream Stream::wrap(const Device& device, cudaStream_t handle) {
  Stream s;
  s.device_ = device;
  s.handle_ = handle;
  return s;
}

Stream::~Stream() {
  if (owned_ && handle_) {
    DeviceGuard guard(device_, std::nothrow);
    (void)CUDA_CHECK_NOTHROW(cudaStreamDestroy(handle_));
  }
}

Stream::Stream(Stream&& other) noexcept
    : device_(other.device_),
      handle_(std::exchange(other.handle_, nullptr)),
      owned_(std::exchange(other.owned_, false)) {}

Stream& Stream::operator=(Stream&& other) noexcept {
  if (this != &other) {
    Stream tmp(std::move(*this));
    device_ = other.device_;
    handle_ = std::exchange(other.handle_, nullptr);
    owned_ = std::exchange(other.owned_, false);
  }
  return *this;
}

void Stream::synchronize() const {
  if (device_.is_cuda()) {
    DeviceGuard guard(device_);
    CUDA_CHECK(cudaStreamSynchronize(handle_));
  }
}

Event::Event(const Device& device, bool timing) : device_(device), timing_(timing) {
  if (device.is_cuda()) {
    require_device(device);
    DeviceGuard guard(device);
    CUDA_CHECK(
        cudaEventCreateWithFlags(&handle_, timing ? cudaEventDefault : cudaEventDisableTiming));
  }
}

void Event::destroy() noexcept {
  if (handle_) {
    DeviceGuard guard(device_, std::nothrow);
    (void)CUDA_CHECK_NOTHROW(cudaEventDestroy(handle_));
    handle_ = nullptr;
  }
}

Event::~Event() {
  destroy();
}

Event::Event(Event&& other) noexcept
    : device_(other.device_),
      timing_(other.timing_),
      handle_(std::exchange(other.handle_, nullptr)),
      cpu_time_(other.cpu_time_) {}

Event& Event::operator=(Event&& other) noexcept {
  if (this != &other) {
    destroy();
    device_ = other.device_;
    timing_ = other.timing_;
    handle_ = std::exchange(other.handle_, nullptr);
    cpu_time_ = other.cpu_time_;
  }
  return *this;
}

void Event::record(const Stream& stream) {
  AUGUR_ARG_CHECK(stream.device() == device_, "event on ", device_.str(),
                  " recorded on a stream of ", stream.device().str());
  if (device_.is_cuda()) {
    DeviceGuard guard(device_);
    CUDA_CHECK(cudaEventRecord(handle_, stream.handle()));
  } else {
    cpu_time_ = std::chrono::steady_clock::now();
  }
}

void Event::wait(const Stream& stream) const {
  if (device_.is_cuda() && stream.device().is_cuda()) {
    DeviceGuard guard(stream.device());
    CUDA_CHECK(cudaStreamWaitEvent(stream.handle(), handle_, 0));
  } else if (device_.is_cuda()) {
    synchronize();  // a CPU stream runs synchronously: wait on the host
  }
}

void Event::synchronize() const {
  if (device_.is_cuda()) CUDA_CHECK(cudaEventSynchronize(handle_));
}

bool Event::query() const {
  if (!device_.is_cuda()) return true;
  cudaError_t err = cudaEventQuery(handle_);
  if (err == cudaErrorNotReady) {
    (void)cudaGetLastError();
    return false;
  }
  CUDA_CHECK(err);
  return true;
}

float Event::elapsed_ms(const Event& later) const {
  AUGUR_ARG_CHECK(device_ == later.device_, "events on different devices");
  if (device_.is_cuda()) {
    AUGUR_ARG_CHECK(timing_ && later.timing_, "elapsed_ms needs events created with timing");
    float ms = 0.f;
    CUDA_CHECK(cudaEventElapsedTime(&ms, handle_, later.handle_));
    return ms;
  }
  return std::chrono::duration<float, std::milli>(later.cpu_time_ - cpu_time_).count();
}

}  // namespace augur
