// The dataset interface every reader implements: random access by index to one image (float
// HWC, pixel values scaled to [0, 1], not yet normalised) and its label. Readers keep their
// raw storage compact (uint8 pixels, or file names for image folders); decoding, the
// transforms and augmentation run when a sample is asked for, i.e. in the loader's workers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/random.h"

namespace augur::data {

struct ImageShape {
  int64_t h = 0;
  int64_t w = 0;
  int64_t c = 0;

  int64_t numel() const { return h * w * c; }
  std::string str() const;
  friend bool operator==(const ImageShape& a, const ImageShape& b) {
    return a.h == b.h && a.w == b.w && a.c == b.c;
  }
  friend bool operator!=(const ImageShape& a, const ImageShape& b) { return !(a == b); }
};

enum class Split { Train, Test };

// "train", or "test" / "val" (both mean the held-out split); anything else throws.
Split parse_split(const std::string& text);
const char* split_name(Split split);

// Per-channel mean and standard deviation of pixel values scaled to [0, 1]; the loader maps
// x to (x - mean) / std.
struct Normalization {
  std::vector<float> mean;
  std::vector<float> std;
};

class Dataset {
 public:
  virtual ~Dataset() = default;

  // For messages: the kind, the split and where it was read from.
  virtual std::string name() const = 0;
  virtual int64_t size() const = 0;
  virtual int num_classes() const = 0;
  // The shape of every image image() writes.
  virtual ImageShape image_shape() const = 0;
  virtual Normalization normalization() const = 0;
  virtual int64_t label(int64_t index) const = 0;
  // Writes sample `index` (image_shape().numel() floats, HWC, values in [0, 1]) to `hwc`.
  // `rng` null: the evaluation transform. Otherwise the training augmentation, drawing only
  // from `rng`, so the caller fixes the result by seeding it. Thread-safe. Errors (an
  // unreadable file) throw augur::Error naming the file.
  virtual void image(int64_t index, float* hwc, Random* rng) const = 0;

  struct Sample {
    std::vector<float> image;
    int64_t label = 0;
  };
  Sample get(int64_t index, Random* rng = nullptr) const;

 protected:
  void check_index(int64_t index) const;
};

}  // namespace augur::data
