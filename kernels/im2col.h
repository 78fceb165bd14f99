// im2col / col2im for NHWC convolutions on the CPU.
//
// Row m of the column matrix belongs to output pixel m = (n, p, q) of the whole batch and
// holds the R x S x C input patch under it in (r, s, c) order, which is exactly the layout
// of one KRSC filter; so y = cols * W^T with W viewed as [K, R*S*C]. With dilation 1 the S
// taps of one kernel row read adjacent pixels, so each (pixel, r) is a single contiguous run
// of up to S*C input values; only the image border clips it.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/conv_geometry.h"

namespace augur::kernels::cpu {

namespace im2col_detail {

// Calls inside(row_offset, input_offset, s_lo, s_hi) for every kernel row of output pixels
// [m0, m1) whose input row lies inside the image: taps [s_lo, s_hi) are inside it, and read
// the input from `input_offset` (the element of tap s_lo); the values of the pixel's kernel
// row start at `row_offset` in the column tile. Kernel rows outside the image, and taps
// outside [s_lo, s_hi), are reported to `outside(row_offset, s_lo, s_hi)` (s_lo >= s_hi
// meaning the whole row).
template <class Inside, class Outside>
void for_each_patch_row(const ConvGeometry& g, int64_t m0, int64_t m1, Inside inside,
                        Outside outside) {
  const int64_t sc = g.s * g.c, patch = g.patch();
  int64_t img = m0 / (g.p * g.q), oh = (m0 / g.q) % g.p, ow = m0 % g.q;
  for (int64_t m = m0; m < m1; ++m) {
    const int64_t w0 = ow * g.sw - g.pw;
    const int64_t s_lo = std::max<int64_t>(0, -w0), s_hi = std::min(g.s, g.w - w0);
    const int64_t row = (m - m0) * patch;
    for (int64_t r = 0; r < g.r; ++r) {
      const int64_t ih = oh * g.sh - g.ph + r;
      if (ih < 0 || ih >= g.h || s_lo >= s_hi) {
        outside(row + r * sc, int64_t(0), int64_t(0));
        continue;
      }
      if (s_lo > 0 || s_hi < g.s) outside(row + r * sc, s_lo, s_hi);
      inside(row + r * sc, ((img * g.h + ih) * g.w + w0 + s_lo) * g.c, s_lo, s_hi);
    }
    if (++ow == g.q) {
      ow = 0;
      if (++oh == g.p) {
        oh = 0;
        ++img;
      }
    }
  }
}

}  // namespace im2col_detail

// cols[(m - m0) * patch + (r*S + s)*C + c] = x[n, p*sh - ph + r, q*sw - pw + s, c] (0 outside).
template <class T>
void im2col(const ConvGeometry& g, const T* x, int64_t m0, int64_t m1, T* cols) {
  const int64_t c = g.c, sc = g.s * g.c;
  im2col_detail::for_each_patch_row(
      g, m0, m1,
      [&](int64_t row, int64_t in, int64_t s_lo, int64_t s_hi) {
        std::copy_n(x + in, (s_hi - s_lo) * c, cols + row + s_lo * c);
      },
      [&](int64_t row, int64_t s_lo, int64_t s_hi) {
        if (s_lo >= s_hi) {
          std::fill_n(cols + row, sc, T(0));
          return;
        }
        std::fill_n(cols + row, s_lo * c, T(0));
        std::fill_n(cols + row + s_hi * c, sc - s_hi * c, T(0));
      });
}

// The adjoint of im2col: dx[...] += cols[...] for every in-image entry of rows [m0, m1).
// Rows of different output pixels can add into the same input pixel, so callers must not
// run overlapping row ranges at once.
template <class T>
void col2im_add(const ConvGeometry& g, const T* cols, int64_t m0, int64_t m1, T* dx) {
  const int64_t c = g.c;
  im2col_detail::for_each_patch_row(
      g, m0, m1,
      [&](int64_t row, int64_t in, int64_t s_lo, int64_t s_hi) {
        const T* src = cols + row + s_lo * c;
        T* dst = dx + in;
        const int64_t len = (s_hi - s_lo) * c;
        for (int64_t i = 0; i < len; ++i) dst[i] += src[i];
      },
      [](int64_t, int64_t, int64_t) {});
}

}  // namespace augur::kernels::cpu
