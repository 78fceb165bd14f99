#include "runtime/device.h"

#include <cuda_runtime.h>

#include <cctype>
#include <mutex>

#include "runtime/cuda_check.h"
#include "runtime/error.h"

namespace augur {

Device Device::parse(const std::string& text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  const std::string prefix = "cuda:";
  if (text.rfind(prefix, 0) == 0 && text.size() > prefix.size() &&
      text.size() <= prefix.size() + 4) {
    int index = 0;
    for (size_t i = prefix.size(); i < text.size(); ++i) {
      const unsigned char ch = static_cast<unsigned char>(text[i]);
      if (!std::isdigit(ch)) {
        index = -1;
        break;
      }
      index = index * 10 + (ch - '0');
    }
    if (index >= 0) return cuda(index);
  }
  throw Error("invalid device '" + text + "': expected 'cpu', 'cuda' or 'cuda:N' (N >= 0)");
}

std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
}

namespace {
struct CudaProbe {
  int count = 0;
  std::string reason;
};

const CudaProbe& probe() {
  static std::once_flag once;
  static CudaProbe result;
  std::call_once(once, [] {
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
      (void)cudaGetLastError();
      result.count = 0;
      result.reason = std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
    } else {
      result.count = n;
      if (n == 0) result.reason = "the driver reports no CUDA devices";
    }
  });
  return result;
}
}  // namespace

int cuda_device_count() noexcept {
  try {
    return probe().count;
  } catch (...) {
    return 0;
  }
}

std::string cuda_unavailable_reason() {
  return probe().reason;
}

void require_device(const Device& device) {
  if (device.is_cpu()) return;
  const int n = cuda_device_count();
  if (n == 0)
    throw Error("device " + device.str() + " requested but no CUDA device is available (" +
                cuda_unavailable_reason() + ")");
  if (device.index >= n)
    throw Error("device " + device.str() + " requested but only " + std::to_string(n) +
                " CUDA device(s) exist");
}

DeviceGuard::DeviceGuard(const Device& device) {
  if (!device.is_cuda()) return;
  CUDA_CHECK(cudaGetDevice(&previous_));
  if (previous_ != device.index) CUDA_CHECK(cudaSetDevice(device.index));
}

DeviceGuard::DeviceGuard(const Device& device, std::nothrow_t) noexcept {
  if (!device.is_cuda()) return;
  int current = -1;
  if (!CUDA_CHECK_NOTHROW(cudaGetDevice(&current))) return;
  previous_ = current;
  if (previous_ != device.index) (void)CUDA_CHECK_NOTHROW(cudaSetDevice(device.index));
}

DeviceGuard::~DeviceGuard() {
  if (previous_ >= 0) (void)cudaSetDevice(previous_);
}

}  // namespace augur
