#include "data/transforms.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "runtime/error.h"

namespace augur::data {

namespace {

// Python's round() on the values these rules produce: halves go to the even neighbour.
int round_half_even(double v) {
  return static_cast<int>(std::nearbyint(v));
}

// One axis of a bilinear resize: for each output index the two source indices (absolute)
// and the weight of the second, as PyTorch's upsample_bilinear2d computes them.
struct Taps {
  std::vector<int> lo, hi;
  std::vector<float> frac;
};

Taps axis_taps(int region_start, int region_len, int resized_len, int window_start,
               int window_len) {
  Taps t;
  t.lo.resize(window_len);
  t.hi.resize(window_len);
  t.frac.resize(window_len);
  const double scale = static_cast<double>(region_len) / resized_len;
  for (int o = 0; o < window_len; ++o) {
    const double src = std::max(0.0, scale * (window_start + o + 0.5) - 0.5);
    const int i0 = std::min(static_cast<int>(src), region_len - 1);
    const int i1 = std::min(i0 + 1, region_len - 1);
    t.lo[o] = region_start + i0;
    t.hi[o] = region_start + i1;
    t.frac[o] = i1 == i0 ? 0.0f : static_cast<float>(src - i0);
  }
  return t;
}

}  // namespace

void pad_crop_flip(const ImageU8& src, int pad, int dy, int dx, bool flip, float* out) {
  AUGUR_ARG_CHECK(pad >= 0 && dy >= 0 && dx >= 0 && dy <= 2 * pad && dx <= 2 * pad,
                  "pad_crop_flip: offsets (", dy, ", ", dx, ") outside [0, ", 2 * pad, "]");
  const int h = src.h, w = src.w, c = src.c;
  for (int y = 0; y < h; ++y) {
    const int sy = y + dy - pad;
    float* row = out + static_cast<size_t>(y) * w * c;
    if (sy < 0 || sy >= h) {
      std::fill(row, row + static_cast<size_t>(w) * c, 0.0f);
      continue;
    }
    const uint8_t* srow = src.data + static_cast<size_t>(sy) * w * c;
    for (int x = 0; x < w; ++x) {
      const int sx = (flip ? w - 1 - x : x) + dx - pad;
      float* px = row + static_cast<size_t>(x) * c;
      if (sx < 0 || sx >= w) {
        std::fill(px, px + c, 0.0f);
      } else {
        for (int ch = 0; ch < c; ++ch) px[ch] = srow[static_cast<size_t>(sx) * c + ch] / 255.0f;
      }
    }
  }
}

void random_pad_crop_flip(const ImageU8& src, int pad, bool flip_allowed, Random& rng, float* out) {
  const int dy = static_cast<int>(rng.below(2 * pad + 1));
  const int dx = static_cast<int>(rng.below(2 * pad + 1));
  const bool flip = flip_allowed && rng.uniform() < 0.5;
  pad_crop_flip(src, pad, dy, dx, flip, out);
}

void resize_window(const ImageU8& src, const Box& region, int resized_h, int resized_w,
                   const Box& window, bool flip, float* out) {
  AUGUR_ARG_CHECK(region.top >= 0 && region.left >= 0 && region.height > 0 && region.width > 0 &&
                      region.top + region.height <= src.h && region.left + region.width <= src.w,
                  "resize_window: region (", region.top, ", ", region.left, ", ", region.height,
                  ", ", region.width, ") outside a ", src.h, "x", src.w, " image");
  AUGUR_ARG_CHECK(
      resized_h > 0 && resized_w > 0 && window.top >= 0 && window.left >= 0 &&
          window.top + window.height <= resized_h && window.left + window.width <= resized_w,
      "resize_window: window outside the ", resized_h, "x", resized_w, " resized image");
  const Taps ty = axis_taps(region.top, region.height, resized_h, window.top, window.height);
  const Taps tx = axis_taps(region.left, region.width, resized_w, window.left, window.width);
  const int c = src.c, ow = window.width;
  const size_t stride = static_cast<size_t>(src.w) * c;
  for (int oy = 0; oy < window.height; ++oy) {
    const uint8_t* r0 = src.data + ty.lo[oy] * stride;
    const uint8_t* r1 = src.data + ty.hi[oy] * stride;
    const float fy = ty.frac[oy];
    float* row = out + static_cast<size_t>(oy) * ow * c;
    for (int ox = 0; ox < ow; ++ox) {
      const size_t x0 = static_cast<size_t>(tx.lo[ox]) * c, x1 = static_cast<size_t>(tx.hi[ox]) * c;
      const float fx = tx.frac[ox];
      float* px = row + static_cast<size_t>(flip ? ow - 1 - ox : ox) * c;
      for (int ch = 0; ch < c; ++ch) {
        const float top = r0[x0 + ch] + fx * (r0[x1 + ch] - r0[x0 + ch]);
        const float bottom = r1[x0 + ch] + fx * (r1[x1 + ch] - r1[x0 + ch]);
        px[ch] = (top + fy * (bottom - top)) / 255.0f;
      }
    }
  }
}

Box random_resized_crop_box(int h, int w, Random& rng, double scale_lo, double scale_hi,
                            double ratio_lo, double ratio_hi) {
  const double area = static_cast<double>(h) * w;
  const double log_lo = std::log(ratio_lo), log_hi = std::log(ratio_hi);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * rng.uniform(scale_lo, scale_hi);
    const double aspect = std::exp(rng.uniform(log_lo, log_hi));
    const int cw = round_half_even(std::sqrt(target * aspect));
    const int ch = round_half_even(std::sqrt(target / aspect));
    if (cw > 0 && cw <= w && ch > 0 && ch <= h) {
      const int top = static_cast<int>(rng.below(h - ch + 1));
      const int left = static_cast<int>(rng.below(w - cw + 1));
      return {top, left, ch, cw};
    }
  }
  const double in_ratio = static_cast<double>(w) / h;
  int cw = w, ch = h;
  if (in_ratio < ratio_lo) {
    ch = round_half_even(w / ratio_lo);
  } else if (in_ratio > ratio_hi) {
    cw = round_half_even(h * ratio_hi);
  }
  return {(h - ch) / 2, (w - cw) / 2, ch, cw};
}

void random_resized_crop_flip(const ImageU8& src, int size, Random& rng, float* out) {
  const Box box = random_resized_crop_box(src.h, src.w, rng);
  const bool flip = rng.uniform() < 0.5;
  resize_window(src, box, size, size, {0, 0, size, size}, flip, out);
}

int eval_resize_for(int size) {
  return size * 256 / 224;
}

void resize_center_crop(const ImageU8& src, int resize, int size, float* out) {
  AUGUR_ARG_CHECK(resize >= size && size > 0, "resize_center_crop: resize ", resize,
                  " smaller than the crop ", size);
  const bool portrait = src.w <= src.h;
  const int short_side = portrait ? src.w : src.h, long_side = portrait ? src.h : src.w;
  const int new_long = static_cast<int>(static_cast<double>(resize) * long_side / short_side);
  const int rh = portrait ? new_long : resize, rw = portrait ? resize : new_long;
  const Box window{round_half_even((rh - size) / 2.0), round_half_even((rw - size) / 2.0), size,
                   size};
  resize_window(src, {0, 0, src.h, src.w}, rh, rw, window, false, out);
}

}  // namespace augur::data
