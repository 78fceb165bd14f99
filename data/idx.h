// IDX files (MNIST, Fashion-MNIST): big-endian magic 0x0000080N (unsigned bytes, N
// dimensions; 2051 for images, 2049 for labels), N big-endian uint32 sizes, then the bytes.
// Files may be gzipped: `name` is used when it exists, else `name.gz`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/normalization.h"
#include "data/small_image.h"

namespace augur::data {

// Where Debian's dataset-fashion-mnist package installs the (gzipped) files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};

// Reads an IDX file of unsigned bytes with `rank` dimensions (plain or gzip, told apart by
// content). Throws naming the file on a wrong magic number, truncation or trailing bytes.
IdxArray read_idx(const std::string& path, int rank);

// `dir/stem` when it exists, else `dir/stem.gz`; throws naming both when neither does.
std::string find_idx_file(const std::string& dir, const std::string& stem);

struct IdxOptions {
  std::string dir = kFashionMnistDir;
  Split split = Split::Train;
  std::string kind = "fashion-mnist";  // for messages
  int num_classes = 10;
  Normalization normalization = fashion_mnist_normalization();
  // 28x28 images: padding 2 keeps the shift at the same share of the image as CIFAR's 4 of
  // 32 would be at 3.5. Flips are on for Fashion-MNIST (garments are roughly mirror
  // symmetric, as is common practice) and off for MNIST (digits are not).
  SmallAugment augment{true, 2, true};

  static IdxOptions fashion_mnist(const std::string& dir, Split split);
  static IdxOptions mnist(const std::string& dir, Split split);
};

// train-images-idx3-ubyte / train-labels-idx1-ubyte, or t10k-* for the test split.
class IdxDataset : public SmallImageDataset {
 public:
  explicit IdxDataset(const IdxOptions& options);

  std::string name() const override;
  int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
  int num_classes() const override { return options_.num_classes; }
  ImageShape image_shape() const override { return shape_; }
  Normalization normalization() const override { return options_.normalization; }
  int64_t label(int64_t index) const override;

  const std::string& images_path() const { return images_path_; }
  const std::string& labels_path() const { return labels_path_; }

 protected:
  const uint8_t* pixels(int64_t index, std::vector<uint8_t>& scratch) const override;

 private:
  IdxOptions options_;
  std::string images_path_, labels_path_;
  ImageShape shape_;
  std::vector<uint8_t> images_;
  std::vector<uint8_t> labels_;
};

}  // namespace augur::data
