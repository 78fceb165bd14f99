#include "data/small_image.h"

#include <algorithm>

#include "data/transforms.h"
#include "runtime/error.h"

namespace augur::data {

void SmallImageDataset::set_augment(const SmallAugment& augment) {
  AUGUR_ARG_CHECK(augment.pad >= 0, "augmentation padding must be >= 0, got ", augment.pad);
  augment_ = augment;
}

void SmallImageDataset::image(int64_t index, float* hwc, Random* rng) const {
  check_index(index);
  std::vector<uint8_t> scratch;
  const uint8_t* px = pixels(index, scratch);
  const ImageShape s = image_shape();
  const ImageU8 src{px, static_cast<int>(s.h), static_cast<int>(s.w), static_cast<int>(s.c)};
  if (rng && augment_.enabled) {
    random_pad_crop_flip(src, augment_.pad, augment_.flip, *rng, hwc);
  } else {
    pad_crop_flip(src, 0, 0, 0, false, hwc);
  }
}

std::vector<uint8_t> SmallImageDataset::raw(int64_t index) const {
  check_index(index);
  std::vector<uint8_t> scratch;
  const uint8_t* px = pixels(index, scratch);
  return std::vector<uint8_t>(px, px + image_shape().numel());
}

}  // namespace augur::data
