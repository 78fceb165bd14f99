// A caching allocator per device. Training allocates the same sizes every step; asking the
// driver each time (cudaMalloc synchronises the device) would stall the pipeline, so freed
// blocks are kept and handed out again. On CUDA a freed block is reused only after the work
// queued on its stream before the free has finished (an event guards it).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <map>
#include <mutex>
#include <vector>

#include "runtime/device.h"

namespace augur {

struct AllocatorStats {
  size_t allocated_bytes = 0;       // handed out and not yet released
  size_t cached_bytes = 0;          // released, kept for reuse
  size_t peak_allocated_bytes = 0;  // high-water mark of allocated_bytes
  size_t allocations = 0;           // calls to allocate()
  size_t cache_hits = 0;            // allocations served from the cache
  size_t system_allocations = 0;    // calls that reached malloc / cudaMalloc
};

struct Block {
  void* ptr = nullptr;
  size_t size = 0;  // rounded size actually reserved
};

class CachingAllocator {
 public:
  explicit CachingAllocator(Device device);
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // One allocator per device, created on first use.
  static CachingAllocator& for_device(const Device& device);

  // Memory is 256-byte aligned. Throws a clear out-of-memory error naming the device, the
  // request and the allocator's state after freeing the cache and retrying once.
  Block allocate(size_t bytes);
  // `stream`: the CUDA stream whose queued work may still use the block (nullptr: none).
  // Never throws (it runs in destructors): when the event that orders reuse cannot be
  // recorded (a sticky CUDA error), the block is dropped rather than cached.
  void release(Block block, cudaStream_t stream = nullptr) noexcept;
  // Returns every cached block to the system.
  void empty_cache();
  AllocatorStats stats() const;
  const Device& device() const { return device_; }

  static size_t round_size(size_t bytes);

 private:
  struct Cached {
    Block block;
    cudaEvent_t ready = nullptr;  // CUDA: recorded at release; null when nothing is pending
  };
  void* system_alloc(size_t bytes);
  void system_free(void* ptr);
  void free_cached_locked();

  Device device_;
  mutable std::mutex mutex_;
  std::multimap<size_t, Cached> cache_;
  std::vector<cudaEvent_t> spare_events_;
  AllocatorStats stats_;
};

}  // namespace augur
