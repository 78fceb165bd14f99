// Datasets of small images held (or generated) as uint8 HWC: IDX, CIFAR-10 and synthetic.
// They share the training augmentation of the CIFAR recipe (He et al. 2016): a random crop
// of the image zero-padded by `pad` pixels and a horizontal flip with p = 0.5; evaluation
// reads the image unchanged.
#pragma once

#include <cstdint>
#include <vector>

#include "data/dataset.h"

namespace augur::data {

struct SmallAugment {
  bool enabled = true;  // false: training reads images unchanged too
  int pad = 4;
  bool flip = true;
};

class SmallImageDataset : public Dataset {
 public:
  void image(int64_t index, float* hwc, Random* rng) const override;

  const SmallAugment& augment() const { return augment_; }
  void set_augment(const SmallAugment& augment);

  // The stored pixels of sample `index` (uint8 HWC), before any transform.
  std::vector<uint8_t> raw(int64_t index) const;

 protected:
  explicit SmallImageDataset(SmallAugment augment) { set_augment(augment); }
  // A pointer to the pixels of sample `index`: into the reader's storage, or into `scratch`
  // (resized by the callee) for readers that make pixels on demand.
  virtual const uint8_t* pixels(int64_t index, std::vector<uint8_t>& scratch) const = 0;

 private:
  SmallAugment augment_;
};

}  // namespace augur::data
