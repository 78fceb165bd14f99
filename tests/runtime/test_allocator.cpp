#include <catch2/catch.hpp>

#include "runtime/allocator.h"
#include "runtime/buffer.h"

using namespace augur;

TEST_CASE("sizes round to 256 bytes below 1 MiB and to 2 MiB above", "[runtime]") {
  CHECK(CachingAllocator::round_size(0) == 256);
  CHECK(CachingAllocator::round_size(1) == 256);
  CHECK(CachingAllocator::round_size(256) == 256);
  CHECK(CachingAllocator::round_size(257) == 512);
  CHECK(CachingAllocator::round_size((1 << 20) + 1) == (2u << 20));
  CHECK(CachingAllocator::round_size(5u << 20) == (6u << 20));
}

TEST_CASE("a released block is reused for a request of the same size", "[runtime]") {
  CachingAllocator alloc(Device::cpu());
  Block a = alloc.allocate(3000);
  void* first = a.ptr;
  alloc.release(a);
  CHECK(alloc.stats().cached_bytes == a.size);
  CHECK(alloc.stats().allocated_bytes == 0);
  Block b = alloc.allocate(2900);  // rounds to the same size class
  CHECK(b.ptr == first);
  const AllocatorStats s = alloc.stats();
  CHECK(s.allocations == 2);
  CHECK(s.cache_hits == 1);
  CHECK(s.system_allocations == 1);
  CHECK(s.cached_bytes == 0);
  CHECK(s.peak_allocated_bytes == b.size);
  alloc.release(b);
}

TEST_CASE("a much larger cached block is not handed to a small request", "[runtime]") {
  CachingAllocator alloc(Device::cpu());
  Block big = alloc.allocate(64 * 1024);
  alloc.release(big);
  Block small = alloc.allocate(1024);
  CHECK(small.ptr != big.ptr);
  CHECK(alloc.stats().cache_hits == 0);
  Block mid = alloc.allocate(40 * 1024);  // within 2x: served from the cache
  CHECK(mid.ptr == big.ptr);
  alloc.release(small);
  alloc.release(mid);
  alloc.empty_cache();
  CHECK(alloc.stats().cached_bytes == 0);
}

TEST_CASE("Buffers return memory to the per-device allocator", "[runtime]") {
  auto& alloc = CachingAllocator::for_device(Device::cpu());
  CHECK(&alloc == &CachingAllocator::for_device(Device::cpu()));
  void* p = nullptr;
  { p = Buffer(Device::cpu(), 123456).data(); }
  const size_t hits = alloc.stats().cache_hits;
  Buffer again(Device::cpu(), 123456);
  CHECK(again.data() == p);
  CHECK(alloc.stats().cache_hits == hits + 1);
}

TEST_CASE("an impossible allocation is a clear out-of-memory error", "[runtime]") {
  CachingAllocator alloc(Device::cpu());
  CHECK_THROWS_WITH(alloc.allocate(size_t(1) << 62), Catch::Contains("out of memory on cpu") &&
                                                         Catch::Contains("4611686018427387904"));
}
