// CIFAR-10's binary version: data_batch_1.bin .. data_batch_5.bin (training) and
// test_batch.bin, each a sequence of 3073-byte records: the label byte (0..9) then the
// 32x32 image as three 1024-byte planes (R, G, B, rows top to bottom). Stored here as HWC.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/normalization.h"
#include "data/small_image.h"

namespace augur::data {

struct CifarOptions {
  // The folder holding the .bin files, or one holding cifar-10-batches-bin/ (as the
  // official archive unpacks).
  std::string dir;
  Split split = Split::Train;
  // Training files; the official set has five. Tests use fewer.
  int train_batches = 5;
  Normalization normalization = cifar10_normalization();
  SmallAugment augment{true, 4, true};
};

class CifarDataset : public SmallImageDataset {
 public:
  static constexpr int64_t kSide = 32;
  static constexpr int64_t kRecordBytes = 1 + 3 * kSide * kSide;

  explicit CifarDataset(const CifarOptions& options);

  std::string name() const override;
  int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
  int num_classes() const override { return 10; }
  ImageShape image_shape() const override { return {kSide, kSide, 3}; }
  Normalization normalization() const override { return options_.normalization; }
  int64_t label(int64_t index) const override;

  const std::vector<std::string>& files() const { return files_; }

 protected:
  const uint8_t* pixels(int64_t index, std::vector<uint8_t>& scratch) const override;

 private:
  void read_file(const std::string& path);
  CifarOptions options_;
  std::vector<std::string> files_;
  std::vector<uint8_t> images_;  // HWC
  std::vector<uint8_t> labels_;
};

// The file names a split reads, in order.
std::vector<std::string> cifar_file_names(Split split, int train_batches = 5);

}  // namespace augur::data
