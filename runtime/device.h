// Where data lives and work runs: the CPU backend or one CUDA device.
#pragma once

#include <new>
#include <string>

namespace augur {

enum class DeviceKind { CPU, CUDA };

struct Device {
  DeviceKind kind = DeviceKind::CPU;
  int index = 0;

  static Device cpu() { return {DeviceKind::CPU, 0}; }
  static Device cuda(int i = 0) { return {DeviceKind::CUDA, i}; }
  // Accepts "cpu", "cuda" (device 0) and "cuda:N"; anything else throws naming the string.
  static Device parse(const std::string& text);

  bool is_cpu() const { return kind == DeviceKind::CPU; }
  bool is_cuda() const { return kind == DeviceKind::CUDA; }
  std::string str() const;

  friend bool operator==(const Device& a, const Device& b) {
    return a.kind == b.kind && (a.kind == DeviceKind::CPU || a.index == b.index);
  }
  friend bool operator!=(const Device& a, const Device& b) { return !(a == b); }
};

// Number of usable CUDA devices; 0 (never an exception) when there is no driver or GPU.
// The first call asks the driver; later calls return the cached answer.
int cuda_device_count() noexcept;

// Why cuda_device_count() is 0, in the driver's words ("" when devices exist).
std::string cuda_unavailable_reason();

// Throws a clear error when the device does not exist on this machine.
void require_device(const Device& device);

// Makes `device` current for the calling thread (CUDA only) and restores the previous one.
class DeviceGuard {
 public:
  explicit DeviceGuard(const Device& device);
  // Teardown: never throws (a failure is reported once, see CUDA_CHECK_NOTHROW).
  DeviceGuard(const Device& device, std::nothrow_t) noexcept;
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
};

}  // namespace augur
