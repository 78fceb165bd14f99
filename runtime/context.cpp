#include "runtime/context.h"

#include <sstream>

#include "runtime/cuda_check.h"

namespace augur {

StreamResources::StreamResources(const Device& device, cudaStream_t stream)
    : device_(device), stream_(stream) {}

StreamResources::~StreamResources() {
  DeviceGuard guard(device_, std::nothrow);
  if (cublas_) (void)cublasDestroy(cublas_);
  if (cudnn_) (void)cudnnDestroy(cudnn_);
}

cublasHandle_t StreamResources::cublas() {
  if (!cublas_) {
    DeviceGuard guard(device_);
    CUBLAS_CHECK(cublasCreate(&cublas_));
    CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
  }
  return cublas_;
}

cudnnHandle_t StreamResources::cudnn() {
  if (!cudnn_) {
    DeviceGuard guard(device_);
    CUDNN_CHECK(cudnnCreate(&cudnn_));
    CUDNN_CHECK(cudnnSetStream(cudnn_, stream_));
  }
  return cudnn_;
}

void* StreamResources::workspace(size_t bytes) {
  if (workspace_.bytes() < bytes) {
    Stream s = Stream::wrap(device_, stream_);
    workspace_ = Buffer();  // release first, so the allocator can reuse it
    workspace_ = Buffer(device_, bytes, &s);
  }
  return workspace_.data();
}

DeviceContext::DeviceContext(const Device& device) : device_(device) {}

DeviceContext& DeviceContext::get(const Device& device) {
  AUGUR_ARG_CHECK(device.is_cuda(), "no library context exists for ", device.str());
  static std::mutex mutex;
  // Never destroyed: handles outliving the CUDA runtime at exit would crash in teardown.
  static auto* contexts = new std::map<int, std::unique_ptr<DeviceContext>>();
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = (*contexts)[device.index];
  if (!slot) {
    require_device(device);
    slot = std::make_unique<DeviceContext>(device);
  }
  return *slot;
}

StreamResources& DeviceContext::resources(const Stream& stream) {
  AUGUR_ARG_CHECK(stream.device() == device_, "stream of ", stream.device().str(),
                  " used with the context of ", device_.str());
  std::lock_guard<std::mutex> lock(mutex_);
  auto& slot = per_stream_[stream.handle()];
  if (!slot) slot = std::make_unique<StreamResources>(device_, stream.handle());
  return *slot;
}

std::string DeviceContext::description() const {
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, device_.index));
  std::ostringstream os;
  os << device_.str() << ": " << prop.name << " (sm_" << prop.major << prop.minor << ", "
     << prop.multiProcessorCount << " SMs, " << (prop.totalGlobalMem >> 20) << " MiB)";
  return os.str();
}

}  // namespace augur
