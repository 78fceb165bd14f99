// Geometric transforms on uint8 HWC images, writing float HWC with values in [0, 1]:
// - small images (CIFAR, Fashion-MNIST): torchvision's RandomCrop(size, padding=pad) with
//   zero padding followed by RandomHorizontalFlip(0.5);
// - image folders: RandomResizedCrop + RandomHorizontalFlip for training, Resize(shorter
//   side) + CenterCrop for evaluation, with the parameter rules of torchvision 0.14.
// Resampling is bilinear with half-pixel centres (PyTorch's align_corners=False) and NO
// antialiasing: PIL's bilinear filter widens its support when it shrinks an image, so large
// reductions here are sharper (more aliased) than torchvision's PIL path. Results stay
// float, where PIL rounds to uint8.
#pragma once

#include <cstdint>

#include "runtime/random.h"

namespace augur::data {

struct ImageU8 {
  const uint8_t* data = nullptr;
  int h = 0;
  int w = 0;
  int c = 0;
};

// A rectangle of pixels: rows [top, top + height), columns [left, left + width).
struct Box {
  int top = 0;
  int left = 0;
  int height = 0;
  int width = 0;
};

// Copies `src` to `out` (same size) shifted by a crop of the zero-padded image: output pixel
// (y, x) is padded(y + dy, x + dx), where padded is `src` with `pad` zero rows/columns on
// every side, then mirrored left-right when `flip`. dy, dx in [0, 2 * pad].
void pad_crop_flip(const ImageU8& src, int pad, int dy, int dx, bool flip, float* out);

// Draws dy, dx, flip as torchvision does (dy, dx uniform in [0, 2 * pad]; flip with p = 0.5,
// `flip_allowed` false: never) and applies pad_crop_flip.
void random_pad_crop_flip(const ImageU8& src, int pad, bool flip_allowed, Random& rng, float* out);

// Bilinear resize of `region` of `src` to resized_h x resized_w, of which the `window` (in
// resized coordinates) is written to `out` (window.height x window.width x c), mirrored
// left-right when `flip`. Samples never reach outside `region`, so this equals cropping
// first and resizing the crop.
void resize_window(const ImageU8& src, const Box& region, int resized_h, int resized_w,
                   const Box& window, bool flip, float* out);

// torchvision.transforms.RandomResizedCrop.get_params for an h x w image: ten tries at an
// area fraction in [scale_lo, scale_hi] and a log-uniform aspect ratio in [ratio_lo,
// ratio_hi], then the central crop clamped to the ratio range.
Box random_resized_crop_box(int h, int w, Random& rng, double scale_lo = 0.08,
                            double scale_hi = 1.0, double ratio_lo = 3.0 / 4.0,
                            double ratio_hi = 4.0 / 3.0);

// Training transform: RandomResizedCrop(size) + RandomHorizontalFlip(0.5).
void random_resized_crop_flip(const ImageU8& src, int size, Random& rng, float* out);

// The shorter side of the evaluation resize for a crop of `size`: size * 256 / 224 (256 for
// 224, the ImageNet convention), rounded down.
int eval_resize_for(int size);

// Evaluation transform: Resize(resize) (shorter side to `resize`, the longer one scaled and
// truncated as torchvision does) then CenterCrop(size).
void resize_center_crop(const ImageU8& src, int resize, int size, float* out);

}  // namespace augur::data
