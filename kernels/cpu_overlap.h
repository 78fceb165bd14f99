// Whether two buffers overlap, for CPU kernels that take a faster path (restrict-qualified,
// vectorised) when their outputs alias none of their inputs.
#pragma once

#include <cstddef>
#include <cstdint>

namespace augur::kernels::cpu {

// [a, a + bytes) and [b, b + bytes) share no byte; a null pointer overlaps nothing.
inline bool disjoint(const void* a, const void* b, size_t bytes) {
  const auto pa = reinterpret_cast<uintptr_t>(a), pb = reinterpret_cast<uintptr_t>(b);
  return !a || !b || pa + bytes <= pb || pb + bytes <= pa;
}

}  // namespace augur::kernels::cpu
