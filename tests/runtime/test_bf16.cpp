// The host's bf16 storage rounds exactly as CUDA's __float2bfloat16 does, so the CPU
// reference stores what the GPU stores.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#if AUGUR_WITH_CUDA
#include <cuda_bf16.h>
#endif

#include "runtime/bf16.h"
#include "runtime/random.h"

using namespace augur;

namespace {
float from_bits(uint32_t u) {
  float x = 0;
  std::memcpy(&x, &u, sizeof x);
  return x;
}
}  // namespace

TEST_CASE("bf16: round to nearest, ties to even, by hand", "[runtime]") {
  // bf16 keeps 8 significand bits (7 stored): 1 + 2^-7 is the next value after 1.
  CHECK(float_to_bf16(1.0f).bits == 0x3f80);
  CHECK(float_to_bf16(1.0f + 0x1p-7f).bits == 0x3f81);
  CHECK(float_to_bf16(1.0f + 0x1p-8f).bits == 0x3f80);      // halfway: to the even neighbour 1.0
  CHECK(float_to_bf16(1.0f + 3 * 0x1p-8f).bits == 0x3f82);  // halfway above 0x3f81: up to even
  CHECK(float_to_bf16(1.0f + 0x1p-8f + 0x1p-20f).bits == 0x3f81);  // above halfway: up
  CHECK(float_to_bf16(-2.0f).bits == 0xc000);
  CHECK(float_to_bf16(0.0f).bits == 0x0000);
  CHECK(float_to_bf16(-0.0f).bits == 0x8000);
  CHECK(float_to_bf16(std::numeric_limits<float>::infinity()).bits == 0x7f80);
  CHECK(float_to_bf16(from_bits(0x7f7fffff)).bits == 0x7f80);  // FLT_MAX rounds to infinity
  CHECK(float_to_bf16(std::nanf("")).bits == 0x7fff);
  CHECK(float_to_bf16(from_bits(0xffc00001)).bits == 0x7fff);  // every NaN: canonical
  CHECK(float_to_bf16(from_bits(0x00000001)).bits == 0x0000);  // smallest subnormal
  CHECK(bf16_to_float(bf16{0x3f81}) == 1.0f + 0x1p-7f);
  CHECK(bf16_to_float(bf16{0xc000}) == -2.0f);
}

#if AUGUR_WITH_CUDA
TEST_CASE("bf16: the host rounding equals CUDA's __float2bfloat16", "[runtime]") {
  Random rng(2026);
  int checked = 0;
  for (int i = 0; i < 1 << 20; ++i) {
    const uint32_t u = static_cast<uint32_t>(rng.next_u64());
    const float x = from_bits(u);
    const __nv_bfloat16 cuda = __float2bfloat16(x);
    uint16_t cuda_bits = 0;
    std::memcpy(&cuda_bits, &cuda, sizeof cuda_bits);
    if (std::isnan(x)) {
      CHECK((cuda_bits & 0x7fff) > 0x7f80);  // CUDA's NaN may keep the sign; ours is canonical
      CHECK(std::isnan(bf16_to_float(float_to_bf16(x))));
    } else if (cuda_bits != float_to_bf16(x).bits) {
      FAIL_CHECK("bits 0x" << std::hex << u << ": CUDA 0x" << cuda_bits << ", host 0x"
                           << float_to_bf16(x).bits);
    }
    ++checked;
  }
  CHECK(checked == 1 << 20);
}
#endif
