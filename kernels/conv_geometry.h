// The shape of one NHWC convolution as the CPU kernels see it, and its restriction to the
// kernel taps that ever touch the image.
#pragma once

#include <algorithm>
#include <cstdint>

namespace augur::kernels::cpu {

struct ConvGeometry {
  int64_t n, h, w, c;  // input
  int64_t k, r, s;     // filters
  int64_t p, q;        // output
  int64_t sh, sw, ph, pw;

  int64_t patch() const { return r * s * c; }   // GEMM reduction length of the forward
  int64_t pixels() const { return n * p * q; }  // GEMM rows
  // A 1x1, stride-1, unpadded conv (output the size of the input) reads the input as the
  // column matrix itself.
  bool pointwise() const {
    return r == 1 && s == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 && p == h && q == w;
  }
};

// Kernel taps that reach inside the image for at least one output pixel, per axis. Taps
// outside [lo, hi) only ever multiply padding, so the conv restricted to the taps inside is
// the same conv with less work: a 3x3 pad-1 conv over a 1x1 image (the last stage of a
// ResNet on 32x32 inputs) is a 1x1 conv.
struct TapRange {
  int64_t lo, hi;
};

inline TapRange used_taps(int64_t in, int64_t out, int64_t taps, int64_t stride, int64_t pad) {
  TapRange t{taps, 0};
  for (int64_t k = 0; k < taps; ++k)
    for (int64_t o = 0; o < out; ++o) {
      const int64_t i = o * stride - pad + k;
      if (i >= 0 && i < in) {
        t.lo = std::min(t.lo, k);
        t.hi = k + 1;
        break;
      }
    }
  return t;
}

struct Crop {
  ConvGeometry g;  // the conv over the used taps only
  int64_t r0, s0;  // its first tap in the full kernel
  bool active;     // some taps are unused
  bool empty;      // no tap is used: every output reads padding alone
};

inline Crop crop(const ConvGeometry& g) {
  const TapRange r = used_taps(g.h, g.p, g.r, g.sh, g.ph);
  const TapRange s = used_taps(g.w, g.q, g.s, g.sw, g.pw);
  Crop c{g, r.lo, s.lo, false, r.lo >= r.hi || s.lo >= s.hi};
  if (c.empty || (r.lo == 0 && r.hi == g.r && s.lo == 0 && s.hi == g.s)) return c;
  c.active = true;
  c.g.r = r.hi - r.lo;
  c.g.s = s.hi - s.lo;
  c.g.ph = g.ph - r.lo;
  c.g.pw = g.pw - s.lo;
  return c;
}

// packed[k] = the used taps of filter k, contiguous ([K, R', S', C]).
template <class T>
void pack_taps(const ConvGeometry& g, const Crop& c, const T* w, T* packed) {
  const int64_t run = c.g.s * g.c;
  for (int64_t k = 0; k < g.k; ++k)
    for (int64_t r = 0; r < c.g.r; ++r)
      std::copy_n(w + ((k * g.r + c.r0 + r) * g.s + c.s0) * g.c, run,
                  packed + (k * c.g.r + r) * run);
}

// dw[used taps] += packed.
template <class T>
void unpack_add_taps(const ConvGeometry& g, const Crop& c, const T* packed, T* dw) {
  const int64_t run = c.g.s * g.c;
  for (int64_t k = 0; k < g.k; ++k)
    for (int64_t r = 0; r < c.g.r; ++r) {
      T* dst = dw + ((k * g.r + c.r0 + r) * g.s + c.s0) * g.c;
      const T* src = packed + (k * c.g.r + r) * run;
      for (int64_t i = 0; i < run; ++i) dst[i] += src[i];
    }
}

}  // namespace augur::kernels::cpu
