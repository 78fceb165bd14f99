#include "runtime/allocator.h"

#include <cstdlib>
#include <memory>
#include <sstream>

#include "runtime/cuda_check.h"

namespace augur {

namespace {
constexpr size_t kAlignment = 256;
constexpr size_t kSmallLimit = size_t(1) << 20;
constexpr size_t kLargeGranule = size_t(2) << 20;
// A cached block serves a request when it is at most this many times larger, so a huge
// block is not pinned down by a tiny tensor.
constexpr size_t kMaxOversize = 2;
}  // namespace

size_t CachingAllocator::round_size(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes <= kSmallLimit) return (bytes + kAlignment - 1) / kAlignment * kAlignment;
  return (bytes + kLargeGranule - 1) / kLargeGranule * kLargeGranule;
}

CachingAllocator::CachingAllocator(Device device) : device_(device) {}

CachingAllocator::~CachingAllocator() {
  std::lock_guard<std::mutex> lock(mutex_);
  free_cached_locked();
  if (device_.is_cuda()) {
    for (cudaEvent_t e : spare_events_) (void)cudaEventDestroy(e);
  }
}

CachingAllocator& CachingAllocator::for_device(const Device& device) {
  static std::mutex mutex;
  // Never destroyed: blocks may be released from static destructors after main returns,
  // and the CUDA runtime may already be torn down by then.
  static auto* cpu = new CachingAllocator(Device::cpu());
  static auto* cuda = new std::map<int, std::unique_ptr<CachingAllocator>>();
  if (device.is_cpu()) return *cpu;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = (*cuda)[device.index];
  if (!slot) {
    require_device(device);
    slot = std::make_unique<CachingAllocator>(device);
  }
  return *slot;
}

void* CachingAllocator::system_alloc(size_t bytes) {
  if (device_.is_cpu()) return std::aligned_alloc(kAlignment, bytes);
  DeviceGuard guard(device_);
  void* ptr = nullptr;
  cudaError_t err = cudaMalloc(&ptr, bytes);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    return nullptr;
  }
  return ptr;
}

void CachingAllocator::system_free(void* ptr) {
  if (device_.is_cpu()) {
    std::free(ptr);
  } else {
    DeviceGuard guard(device_);
    (void)cudaFree(ptr);
  }
}

void CachingAllocator::free_cached_locked() {
  for (auto& [size, cached] : cache_) {
    if (cached.ready) {
      (void)cudaEventSynchronize(cached.ready);
      spare_events_.push_back(cached.ready);
    }
    system_free(cached.block.ptr);
    stats_.cached_bytes -= size;
  }
  cache_.clear();
}

Block CachingAllocator::allocate(size_t bytes) {
  const size_t size = round_size(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  ++stats_.allocations;
  for (auto it = cache_.lower_bound(size); it != cache_.end() && it->first <= size * kMaxOversize;
       ++it) {
    Cached& c = it->second;
    if (c.ready) {
      cudaError_t st = cudaEventQuery(c.ready);
      if (st == cudaErrorNotReady) {
        (void)cudaGetLastError();
        continue;
      }
      CUDA_CHECK(st);
      spare_events_.push_back(c.ready);
    }
    Block b = c.block;
    stats_.cached_bytes -= b.size;
    cache_.erase(it);
    ++stats_.cache_hits;
    stats_.allocated_bytes += b.size;
    if (stats_.allocated_bytes > stats_.peak_allocated_bytes)
      stats_.peak_allocated_bytes = stats_.allocated_bytes;
    return b;
  }
  void* ptr = system_alloc(size);
  if (!ptr && !cache_.empty()) {
    free_cached_locked();
    ptr = system_alloc(size);
  }
  if (!ptr) {
    std::ostringstream os;
    os << "out of memory on " << device_.str() << ": could not allocate " << bytes << " bytes ("
       << stats_.allocated_bytes << " bytes in use by Augur)";
    if (device_.is_cuda()) {
      size_t free_b = 0, total_b = 0;
      if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess)
        os << "; device reports " << free_b << " of " << total_b << " bytes free";
      (void)cudaGetLastError();
    }
    throw Error(os.str());
  }
  ++stats_.system_allocations;
  stats_.allocated_bytes += size;
  if (stats_.allocated_bytes > stats_.peak_allocated_bytes)
    stats_.peak_allocated_bytes = stats_.allocated_bytes;
  return Block{ptr, size};
}

void CachingAllocator::release(Block block, cudaStream_t stream) noexcept {
  if (!block.ptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  Cached c{block, nullptr};
  if (device_.is_cuda() && stream) {
    DeviceGuard guard(device_, std::nothrow);
    if (spare_events_.empty()) {
      cudaEvent_t e = nullptr;
      if (CUDA_CHECK_NOTHROW(cudaEventCreateWithFlags(&e, cudaEventDisableTiming)))
        spare_events_.push_back(e);
    }
    if (spare_events_.empty()) {
      stats_.allocated_bytes -= block.size;  // dropped: the context is gone anyway
      return;
    }
    c.ready = spare_events_.back();
    spare_events_.pop_back();
    if (!CUDA_CHECK_NOTHROW(cudaEventRecord(c.ready, stream))) {
      spare_events_.push_back(c.ready);
      stats_.allocated_bytes -= block.size;
      return;
    }
  }
  stats_.allocated_bytes -= block.size;
  stats_.cached_bytes += block.size;
  cache_.emplace(block.size, c);
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  free_cached_locked();
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

}  // namespace augur
