// Datasets by name, for the command line: fashion-mnist, mnist, cifar10, imagefolder,
// synthetic.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "data/dataset.h"

namespace augur::data {

struct DatasetSpec {
  std::string name = "fashion-mnist";
  // The data folder; empty: /usr/share/datasets/fashion-mnist for fashion-mnist (Debian's
  // dataset-fashion-mnist), required for mnist, cifar10 and imagefolder.
  std::string path;
  Split split = Split::Train;
  // imagefolder: the side of the square crops; synthetic: the side of the images.
  int image_size = 0;  // 0: 224 for imagefolder, 32 for synthetic
  // synthetic only
  int64_t synthetic_samples = 50000;
  int channels = 3;
  int num_classes = 10;
  uint64_t seed = 0;
  // Small-image augmentation on/off (pad-crop and flip); image folders always use the
  // torchvision training transform when the loader augments.
  bool small_augment = true;
};

std::shared_ptr<const Dataset> open_dataset(const DatasetSpec& spec);

}  // namespace augur::data
