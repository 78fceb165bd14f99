// Direct (im2col-free) NHWC convolutions for narrow layers on CPUs with AVX-512.
//
// Why: with 16-64 output channels (the CIFAR-style ResNets), im2col writes R*S copies of
// every activation and OpenBLAS packs them again, so the GEMM path is bound by memory traffic
// rather than arithmetic. These kernels read a zero-padded copy of the input instead (one
// activation's worth of writes), keep a block of outputs in registers and vectorise over
// output channels, 16 per AVX-512 register.
//
// The kernels see only row ranges and raw pointers; padding, weight layouts, threads and the
// choice between this path and im2col + GEMM live in conv.cpp. The kernels are compiled for
// AVX-512 in their own file (conv_direct_avx512.cpp) and must only run where
// direct::available() says so.
#pragma once

#include <cstdint>

namespace augur::kernels::cpu::direct {

// One stride-(sh, sw) correlation of a padded NHWC input with RSCK filters:
//   out[n, p, q, k] = sum_{r, s, c} in[n, p*sh + r, q*sw + s, c] * wt[(r*S + s)*C + c][k]
// `in` is [N, hp, wp, C] with its padding already in place (no bounds checks), so
// (P-1)*sh + R <= hp and (Q-1)*sw + S <= wp.
struct Shape {
  int64_t n, hp, wp, c;  // padded input
  int64_t k, r, s;       // filters; k a multiple of 16, at most kMaxOutputs
  int64_t p, q;          // output
  int64_t sh, sw;
};

constexpr int64_t kLanes = 16;
constexpr int64_t kMaxOutputs = 64;

// Whether the running CPU has the instructions the kernels need.
bool available();

// Whether a conv with `k` output channels fits the kernels' register blocking.
inline bool supports_outputs(int64_t k) {
  return k > 0 && k % kLanes == 0 && k <= kMaxOutputs;
}

// Writes out rows [row0, row1) of the N*P output rows (each Q pixels of K values).
void correlate_rows(const Shape& g, const float* in, const float* wt, float* out, int64_t row0,
                    int64_t row1);

// The filter gradient of the same correlation over output rows [row0, row1):
//   dwt[(r*S + s)*C + c][k] += sum_{n, p, q} in[n, p*sh + r, q*sw + s, c] * dout[n, p, q, k]
void filter_grad_rows(const Shape& g, const float* in, const float* dout, float* dwt, int64_t row0,
                      int64_t row1);

}  // namespace augur::kernels::cpu::direct
