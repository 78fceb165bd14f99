// bfloat16 storage on the host: the CPU reference's twin of CUDA's __nv_bfloat16, so the CPU
// backend (and a build without the CUDA toolkit) stores bf16 exactly as the GPU does: the top
// 16 bits of an IEEE f32, rounded to nearest, ties to even; every NaN becomes the canonical
// quiet NaN 0x7FFF, as CUDA's __float2bfloat16 does.
#pragma once

#include <cstdint>
#include <cstring>

namespace augur {

struct bf16 {
  uint16_t bits = 0;
};

inline bf16 float_to_bf16(float x) {
  uint32_t u = 0;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bf16{0x7fff};  // NaN
  // Round to nearest even on the 16 discarded bits (an overflow rounds to infinity).
  u += 0x7fffu + ((u >> 16) & 1u);
  return bf16{static_cast<uint16_t>(u >> 16)};
}

inline float bf16_to_float(bf16 h) {
  const uint32_t u = uint32_t(h.bits) << 16;
  float x = 0;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

}  // namespace augur
