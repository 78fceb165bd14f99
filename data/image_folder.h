// Image folders in torchvision's ImageFolder layout: <root>/train/<class>/**.jpg and
// <root>/val/<class>/**.jpg. Classes are the sub-folders of train/ in sorted (byte) order,
// one list for both splits (so a class's index is the same in each); a val/ class that
// train/ lacks is an error when the split is opened, before any training. Files are
// found recursively and ordered as torchvision orders them. Only JPEG files (.jpg, .jpeg, any case)
// are samples; other files are ignored, so a class folder without JPEGs is an error. Images are
// decoded when asked for (in the loader's workers) with torchvision's standard transforms: training
// RandomResizedCrop(size) + RandomHorizontalFlip, evaluation Resize(size * 256 / 224) +
// CenterCrop(size) (see data/transforms.h for the resampling).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/normalization.h"

namespace augur::data {

struct ImageFolderOptions {
  std::string root;
  Split split = Split::Train;  // Test reads <root>/val
  int size = 224;
  Normalization normalization = imagenet_normalization();
};

class ImageFolderDataset : public Dataset {
 public:
  explicit ImageFolderDataset(const ImageFolderOptions& options);

  std::string name() const override;
  int64_t size() const override { return static_cast<int64_t>(samples_.size()); }
  int num_classes() const override { return static_cast<int>(classes_.size()); }
  ImageShape image_shape() const override { return {options_.size, options_.size, 3}; }
  Normalization normalization() const override { return options_.normalization; }
  int64_t label(int64_t index) const override;
  void image(int64_t index, float* hwc, Random* rng) const override;

  const std::vector<std::string>& classes() const { return classes_; }
  const std::string& path(int64_t index) const;
  const std::string& folder() const { return folder_; }

 private:
  struct Entry {
    std::string path;
    int64_t label;
  };
  ImageFolderOptions options_;
  std::string folder_;
  std::vector<std::string> classes_;
  std::vector<Entry> samples_;
};

}  // namespace augur::data
