#include "runtime/peer_access.h"

#include <mutex>
#include <set>
#include <utility>

#include "runtime/cuda_check.h"

namespace augur {

bool can_access_peer(const Device& from, const Device& to) {
  if (!from.is_cuda() || !to.is_cuda() || from == to) return false;
  require_device(from);
  require_device(to);
  int ok = 0;
  CUDA_CHECK(cudaDeviceCanAccessPeer(&ok, from.index, to.index));
  return ok != 0;
}

bool enable_peer_access(const Device& from, const Device& to) {
  if (!can_access_peer(from, to)) return false;
  static std::mutex mutex;
  static std::set<std::pair<int, int>> enabled;
  std::lock_guard<std::mutex> lock(mutex);
  if (enabled.count({from.index, to.index})) return true;
  DeviceGuard guard(from);
  const cudaError_t err = cudaDeviceEnablePeerAccess(to.index, 0);
  if (err == cudaErrorPeerAccessAlreadyEnabled)
    (void)cudaGetLastError();  // enabled elsewhere in this process: clear the sticky-free error
  else
    CUDA_CHECK(err);
  enabled.insert({from.index, to.index});
  return true;
}

std::vector<std::vector<bool>> peer_access_matrix() {
  const int n = cuda_device_count();
  std::vector<std::vector<bool>> m(static_cast<size_t>(n), std::vector<bool>(size_t(n), false));
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      m[size_t(i)][size_t(j)] = i == j || can_access_peer(Device::cuda(i), Device::cuda(j));
  return m;
}

}  // namespace augur
