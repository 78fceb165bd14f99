// The direct convolution kernels of conv_direct.h, compiled with -mavx512f (kernels/
// CMakeLists.txt). Everything here has internal linkage or is one of the header's functions,
// and no standard-library code is instantiated: an inline function compiled here would be
// AVX-512 code that the linker could pick for the whole program, and run on a CPU without it.
#include <immintrin.h>

#include <utility>

#include "kernels/conv_direct.h"

namespace augur::kernels::cpu::direct {

namespace {

// Register blocking: a block keeps B x KV accumulators (B output pixels, or B filter
// entries, times KV registers of 16 channels) plus KV operand registers within the 32 zmm
// registers; the broadcast operand is read from memory by the FMA itself.
constexpr int max_block(int kv) {
  return kv == 1 ? 24 : kv == 2 ? 14 : kv == 3 ? 9 : 7;
}

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// B consecutive output pixels of one output row, all K = 16*KV channels. `in` points at the
// input pixel under the block's first output pixel and first tap, `out` at its first output.
template <int KV, int B>
void correlate_block(const Shape& g, const float* in, const float* wt, float* out) {
  constexpr int64_t K = KV * kLanes;
  __m512 acc[B][KV];
#pragma GCC unroll 32
  for (int b = 0; b < B; ++b)
#pragma GCC unroll 4
    for (int v = 0; v < KV; ++v) acc[b][v] = _mm512_setzero_ps();
  // Within one kernel row the taps (s, c) of a pixel are contiguous in both the input and
  // the RSCK filters: one loop over j = s*C + c.
  const int64_t run = g.s * g.c, in_row = g.wp * g.c, pixel = g.sw * g.c;
  for (int64_t r = 0; r < g.r; ++r) {
    const float* x = in + r * in_row;
    const float* w = wt + r * run * K;
    for (int64_t j = 0; j < run; ++j) {
      __m512 wv[KV];
#pragma GCC unroll 4
      for (int v = 0; v < KV; ++v) wv[v] = _mm512_loadu_ps(w + j * K + v * kLanes);
#pragma GCC unroll 32
      for (int b = 0; b < B; ++b) {
        const __m512 xv = _mm512_set1_ps(x[b * pixel + j]);
#pragma GCC unroll 4
        for (int v = 0; v < KV; ++v) acc[b][v] = _mm512_fmadd_ps(xv, wv[v], acc[b][v]);
      }
    }
  }
#pragma GCC unroll 32
  for (int b = 0; b < B; ++b)
#pragma GCC unroll 4
    for (int v = 0; v < KV; ++v) _mm512_storeu_ps(out + b * K + v * kLanes, acc[b][v]);
}

// B consecutive filter entries j0 .. j0+B-1 of kernel row r (j = s*C + c), all K channels,
// summed over output rows [row0, row1). `dwt` points at the entries' first value.
template <int KV, int B>
void filter_grad_block(const Shape& g, const float* in, const float* dout, float* dwt, int64_t r,
                       int64_t j0, int64_t row0, int64_t row1) {
  constexpr int64_t K = KV * kLanes;
  __m512 acc[B][KV];
#pragma GCC unroll 32
  for (int b = 0; b < B; ++b)
#pragma GCC unroll 4
    for (int v = 0; v < KV; ++v) acc[b][v] = _mm512_loadu_ps(dwt + b * K + v * kLanes);
  const int64_t pixel = g.sw * g.c;
  for (int64_t row = row0; row < row1; ++row) {
    const int64_t n = row / g.p, p = row % g.p;
    const float* x = in + ((n * g.hp + p * g.sh + r) * g.wp) * g.c + j0;
    const float* dy = dout + row * g.q * K;
    for (int64_t q = 0; q < g.q; ++q) {
      __m512 dv[KV];
#pragma GCC unroll 4
      for (int v = 0; v < KV; ++v) dv[v] = _mm512_loadu_ps(dy + q * K + v * kLanes);
      const float* xq = x + q * pixel;
#pragma GCC unroll 32
      for (int b = 0; b < B; ++b) {
        const __m512 xv = _mm512_set1_ps(xq[b]);
#pragma GCC unroll 4
        for (int v = 0; v < KV; ++v) acc[b][v] = _mm512_fmadd_ps(xv, dv[v], acc[b][v]);
      }
    }
  }
#pragma GCC unroll 32
  for (int b = 0; b < B; ++b)
#pragma GCC unroll 4
    for (int v = 0; v < KV; ++v) _mm512_storeu_ps(dwt + b * K + v * kLanes, acc[b][v]);
}

// The commonest narrow case, K = 16 with a 3-wide kernel at stride 1 along rows (resnet20's
// first group, forward and backward data, and its stem): the generic block broadcasts every
// input value once per tap s, for one FMA each. Here each input value of a kernel row is
// broadcast once and feeds the three output pixels it lies under, B outputs taking B + 2
// broadcasts instead of 3B.
template <int B>
void correlate_block_k16_s3(const Shape& g, const float* in, const float* wt, float* out) {
  __m512 acc[B];
#pragma GCC unroll 32
  for (int b = 0; b < B; ++b) acc[b] = _mm512_setzero_ps();
  const int64_t c_in = g.c, in_row = g.wp * g.c;
  for (int64_t r = 0; r < g.r; ++r) {
    const float* x = in + r * in_row;
    const float* w = wt + r * 3 * c_in * kLanes;
    for (int64_t c = 0; c < c_in; ++c) {
      const __m512 w0 = _mm512_loadu_ps(w + c * kLanes);
      const __m512 w1 = _mm512_loadu_ps(w + (c_in + c) * kLanes);
      const __m512 w2 = _mm512_loadu_ps(w + (2 * c_in + c) * kLanes);
      // Input pixel i of the block's row lies under output i (tap 0), i-1 (tap 1), i-2 (tap 2).
#pragma GCC unroll 34
      for (int i = 0; i < B + 2; ++i) {
        const __m512 xv = _mm512_set1_ps(x[i * c_in + c]);
        if (i < B) acc[i] = _mm512_fmadd_ps(xv, w0, acc[i]);
        if (i >= 1 && i - 1 < B) acc[i - 1] = _mm512_fmadd_ps(xv, w1, acc[i - 1]);
        if (i >= 2) acc[i - 2] = _mm512_fmadd_ps(xv, w2, acc[i - 2]);
      }
    }
  }
#pragma GCC unroll 32
  for (int b = 0; b < B; ++b) _mm512_storeu_ps(out + b * kLanes, acc[b]);
}

constexpr int kMaxBlockK16S3 = 24;  // 24 accumulators, 3 filter registers, 1 broadcast

bool is_k16_s3(const Shape& g) {
  return g.k == kLanes && g.s == 3 && g.sw == 1;
}

using CorrelateFn = void (*)(const Shape&, const float*, const float*, float*);
using FilterFn = void (*)(const Shape&, const float*, const float*, float*, int64_t, int64_t,
                          int64_t, int64_t);

// fns[b - 1]: the block of b pixels or entries, b = 1 .. max_block(KV).
template <int KV, class Seq>
struct Blocks;
template <int KV, int... I>
struct Blocks<KV, std::integer_sequence<int, I...>> {
  static constexpr CorrelateFn correlate[] = {&correlate_block<KV, I + 1>...};
  static constexpr FilterFn filter[] = {&filter_grad_block<KV, I + 1>...};
};
template <int KV>
using BlocksOf = Blocks<KV, std::make_integer_sequence<int, max_block(KV)>>;

template <class Seq>
struct CorrelateK16S3;
template <int... I>
struct CorrelateK16S3<std::integer_sequence<int, I...>> {
  static constexpr CorrelateFn correlate[] = {&correlate_block_k16_s3<I + 1>...};
};
using K16S3 = CorrelateK16S3<std::make_integer_sequence<int, kMaxBlockK16S3>>;

void correlate_rows_k16_s3(const Shape& g, const float* in, const float* wt, float* out,
                           int64_t row0, int64_t row1) {
  const int64_t blocks = ceil_div(g.q, kMaxBlockK16S3);
  for (int64_t row = row0; row < row1; ++row) {
    const int64_t n = row / g.p, p = row % g.p;
    const float* x = in + (n * g.hp + p * g.sh) * g.wp * g.c;
    float* y = out + row * g.q * kLanes;
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t q0 = g.q * b / blocks, q1 = g.q * (b + 1) / blocks;
      K16S3::correlate[q1 - q0 - 1](g, x + q0 * g.c, wt, y + q0 * kLanes);
    }
  }
}

template <int KV>
void correlate_rows_kv(const Shape& g, const float* in, const float* wt, float* out, int64_t row0,
                       int64_t row1) {
  constexpr int64_t K = KV * kLanes;
  // Blocks of near-equal size (they differ by at most one pixel) rather than full blocks
  // and a short tail: a block of one pixel runs one FMA chain at a time.
  const int64_t blocks = ceil_div(g.q, max_block(KV));
  for (int64_t row = row0; row < row1; ++row) {
    const int64_t n = row / g.p, p = row % g.p;
    const float* x = in + (n * g.hp + p * g.sh) * g.wp * g.c;
    float* y = out + row * g.q * K;
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t q0 = g.q * b / blocks, q1 = g.q * (b + 1) / blocks;
      BlocksOf<KV>::correlate[q1 - q0 - 1](g, x + q0 * g.sw * g.c, wt, y + q0 * K);
    }
  }
}

template <int KV>
void filter_grad_rows_kv(const Shape& g, const float* in, const float* dout, float* dwt,
                         int64_t row0, int64_t row1) {
  constexpr int64_t K = KV * kLanes;
  // Tiles of about kTilePixels output pixels, so that a tile's input rows and output
  // gradients stay in L2 while every filter entry's block passes over them.
  constexpr int64_t kTilePixels = 512;
  const int64_t tile_rows = g.q >= kTilePixels ? 1 : kTilePixels / g.q;
  const int64_t run = g.s * g.c, chunks = ceil_div(run, max_block(KV));
  for (int64_t t0 = row0; t0 < row1; t0 += tile_rows) {
    const int64_t t1 = t0 + tile_rows < row1 ? t0 + tile_rows : row1;
    for (int64_t r = 0; r < g.r; ++r)
      for (int64_t b = 0; b < chunks; ++b) {
        const int64_t j0 = run * b / chunks, j1 = run * (b + 1) / chunks;
        BlocksOf<KV>::filter[j1 - j0 - 1](g, in, dout, dwt + (r * run + j0) * K, r, j0, t0, t1);
      }
  }
}

}  // namespace

void correlate_rows(const Shape& g, const float* in, const float* wt, float* out, int64_t row0,
                    int64_t row1) {
  if (is_k16_s3(g)) return correlate_rows_k16_s3(g, in, wt, out, row0, row1);
  switch (g.k / kLanes) {
    case 1: return correlate_rows_kv<1>(g, in, wt, out, row0, row1);
    case 2: return correlate_rows_kv<2>(g, in, wt, out, row0, row1);
    case 3: return correlate_rows_kv<3>(g, in, wt, out, row0, row1);
    default: return correlate_rows_kv<4>(g, in, wt, out, row0, row1);
  }
}

void filter_grad_rows(const Shape& g, const float* in, const float* dout, float* dwt, int64_t row0,
                      int64_t row1) {
  switch (g.k / kLanes) {
    case 1: return filter_grad_rows_kv<1>(g, in, dout, dwt, row0, row1);
    case 2: return filter_grad_rows_kv<2>(g, in, dout, dwt, row0, row1);
    case 3: return filter_grad_rows_kv<3>(g, in, dout, dwt, row0, row1);
    default: return filter_grad_rows_kv<4>(g, in, dout, dwt, row0, row1);
  }
}

}  // namespace augur::kernels::cpu::direct
