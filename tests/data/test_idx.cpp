#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "data/idx.h"
#include "tests/data/data_files.h"

using namespace augur;
using namespace augur::data;
using namespace augur::test;
using Catch::Matchers::Contains;

namespace {

const std::vector<uint8_t> kLabels = {3, 0, 9, 1, 7};

IdxOptions options_for(const std::string& dir, Split split = Split::Train) {
  return IdxOptions::fashion_mnist(dir, split);
}

void check_contents(const IdxDataset& d) {
  REQUIRE(d.size() == 5);
  CHECK(d.num_classes() == 10);
  CHECK(d.image_shape() == ImageShape{4, 3, 1});
  for (int i = 0; i < 5; ++i) {
    CHECK(d.label(i) == kLabels[i]);
    const std::vector<uint8_t> raw = d.raw(i);
    for (int p = 0; p < 12; ++p) CHECK(raw[p] == idx_pixel(i, p));
    // Evaluation: the stored bytes scaled to [0, 1], unchanged in position.
    const Dataset::Sample s = d.get(i);
    for (int p = 0; p < 12; ++p) CHECK(s.image[p] == idx_pixel(i, p) / 255.0f);
  }
}

}  // namespace

TEST_CASE("IDX: plain files of both splits", "[data][idx]") {
  TempDir dir;
  write_idx_set(dir.path(), "train", 5, 4, 3, kLabels, false);
  write_idx_set(dir.path(), "t10k", 5, 4, 3, kLabels, false);
  const IdxDataset train(options_for(dir.path()));
  check_contents(train);
  CHECK(train.images_path() == dir.file("train-images-idx3-ubyte"));
  CHECK_THAT(train.name(), Contains("fashion-mnist train") && Contains(dir.path()));
  const IdxDataset test(options_for(dir.path(), Split::Test));
  check_contents(test);
  CHECK(test.labels_path() == dir.file("t10k-labels-idx1-ubyte"));
}

TEST_CASE("IDX: gzipped files (read through zlib)", "[data][idx]") {
  TempDir dir;
  write_idx_set(dir.path(), "train", 5, 4, 3, kLabels, true);
  const IdxDataset d(options_for(dir.path()));
  check_contents(d);
  CHECK(d.images_path() == dir.file("train-images-idx3-ubyte.gz"));
}

TEST_CASE("IDX: read_idx by hand", "[data][idx]") {
  TempDir dir;
  write_bytes(dir.file("a"), {0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6});
  const IdxArray a = read_idx(dir.file("a"), 2);
  CHECK(a.dims == std::vector<int64_t>{2, 3});
  CHECK(a.data == std::vector<uint8_t>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("IDX: training augmentation is a padded crop and a flip drawn from the rng",
          "[data][idx]") {
  TempDir dir;
  write_idx_set(dir.path(), "train", 5, 4, 3, kLabels, false);
  IdxDataset d(options_for(dir.path()));
  CHECK(d.augment().pad == 2);
  CHECK(d.augment().flip);
  Random a(7), b(7);
  const Dataset::Sample s1 = d.get(1, &a), s2 = d.get(1, &b);
  CHECK(s1.image == s2.image);
  // Every output pixel is zero padding or one of the image's pixels.
  const std::vector<uint8_t> raw = d.raw(1);
  for (float v : s1.image) {
    bool found = v == 0.0f;
    for (uint8_t r : raw) found = found || v == r / 255.0f;
    CHECK(found);
  }
  d.set_augment({false, 2, true});
  Random c(7);
  CHECK(d.get(1, &c).image == d.get(1).image);
  CHECK_FALSE(IdxOptions::mnist(dir.path(), Split::Train).augment.flip);
}

TEST_CASE("IDX: errors name the file", "[data][idx]") {
  TempDir dir;
  const std::string images = dir.file("train-images-idx3-ubyte");
  const std::string labels = dir.file("train-labels-idx1-ubyte");
  std::vector<uint8_t> pixels(5 * 12, 1);

  SECTION("missing files") {
    CHECK_THROWS_WITH(IdxDataset(options_for(dir.path())),
                      Contains(images) && Contains(images + ".gz"));
  }
  SECTION("wrong magic number") {
    write_bytes(images, idx_bytes({5, 4, 3}, pixels, 2049));
    write_bytes(labels, idx_bytes({5}, kLabels));
    CHECK_THROWS_WITH(IdxDataset(options_for(dir.path())),
                      Contains(images) && Contains("wrong magic number 2049"));
  }
  SECTION("wrong magic number in the labels") {
    write_bytes(images, idx_bytes({5, 4, 3}, pixels));
    write_bytes(labels, idx_bytes({5}, kLabels, 2051));
    CHECK_THROWS_WITH(IdxDataset(options_for(dir.path())), Contains(labels) && Contains("magic"));
  }
  SECTION("truncated data") {
    std::vector<uint8_t> bytes = idx_bytes({5, 4, 3}, pixels);
    bytes.resize(bytes.size() - 5);
    write_bytes(images, bytes);
    write_bytes(labels, idx_bytes({5}, kLabels));
    CHECK_THROWS_WITH(IdxDataset(options_for(dir.path())),
                      Contains(images) && Contains("truncated"));
  }
  SECTION("truncated header") {
    write_bytes(images, {0, 0, 8, 3, 0, 0});
    CHECK_THROWS_WITH(read_idx(images, 3), Contains(images) && Contains("truncated"));
  }
  SECTION("truncated gzip stream") {
    write_gzip(images + ".gz", idx_bytes({5, 4, 3}, pixels));
    write_bytes(labels, idx_bytes({5}, kLabels));
    std::vector<uint8_t> gz = read_bytes(images + ".gz");
    gz.resize(gz.size() / 2);
    write_bytes(images + ".gz", gz);
    CHECK_THROWS_WITH(IdxDataset(options_for(dir.path())), Contains(images + ".gz"));
  }
  SECTION("corrupt gzip stream") {
    write_gzip(images + ".gz", idx_bytes({5, 4, 3}, pixels));
    std::vector<uint8_t> gz = read_bytes(images + ".gz");
    for (size_t i = 12; i < gz.size() - 8; ++i) gz[i] ^= 0x5a;
    write_bytes(images + ".gz", gz);
    CHECK_THROWS_WITH(read_idx(images + ".gz", 3), Contains(images + ".gz"));
  }
  SECTION("dimension sizes whose product overflows 64 bits") {
    // 2^32-1 squared times 8 wraps a 64-bit product; the check comes before the multiplication.
    write_bytes(images, {0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 8});
    CHECK_THROWS_WITH(read_idx(images, 3), Contains(images) && Contains("implausible"));
  }
  SECTION("trailing bytes") {
    std::vector<uint8_t> bytes = idx_bytes({5, 4, 3}, pixels);
    bytes.push_back(0);
    write_bytes(images, bytes);
    CHECK_THROWS_WITH(read_idx(images, 3), Contains(images) && Contains("trailing"));
  }
  SECTION("image and label counts differ") {
    write_bytes(images, idx_bytes({5, 4, 3}, pixels));
    write_bytes(labels, idx_bytes({4}, {1, 2, 3, 4}));
    CHECK_THROWS_WITH(IdxDataset(options_for(dir.path())), Contains(images) && Contains(labels) &&
                                                               Contains("5 images") &&
                                                               Contains("4 labels"));
  }
  SECTION("label out of range") {
    write_bytes(images, idx_bytes({5, 4, 3}, pixels));
    write_bytes(labels, idx_bytes({5}, {1, 2, 10, 4, 5}));
    CHECK_THROWS_WITH(IdxDataset(options_for(dir.path())),
                      Contains(labels) && Contains("label 10 of sample 2"));
  }
}

// Debian's dataset-fashion-mnist: the real files, when installed.
TEST_CASE("IDX: Fashion-MNIST from dataset-fashion-mnist, if installed", "[data][idx][real]") {
  if (!std::filesystem::exists(std::string(kFashionMnistDir) + "/train-labels-idx1-ubyte.gz") &&
      !std::filesystem::exists(std::string(kFashionMnistDir) + "/train-labels-idx1-ubyte")) {
    WARN("skipped: " << kFashionMnistDir << " not present (apt-get install dataset-fashion-mnist)");
    return;
  }
  const IdxDataset train(IdxOptions::fashion_mnist(kFashionMnistDir, Split::Train));
  const IdxDataset test(IdxOptions::fashion_mnist(kFashionMnistDir, Split::Test));
  CHECK(train.size() == 60000);
  CHECK(test.size() == 10000);
  CHECK(train.image_shape() == ImageShape{28, 28, 1});
  // Each class holds 6,000 training images.
  std::vector<int> counts(10, 0);
  for (int64_t i = 0; i < train.size(); ++i) ++counts[static_cast<size_t>(train.label(i))];
  for (int c : counts) CHECK(c == 6000);
  // The published statistics (data/normalization.h), given to four decimals.
  double sum = 0, sum_sq = 0;
  int64_t n = 0;
  for (int64_t i = 0; i < train.size(); ++i) {
    for (uint8_t v : train.raw(i)) {
      const double x = v / 255.0;
      sum += x;
      sum_sq += x * x;
      ++n;
    }
  }
  const double mean = sum / n, std = std::sqrt(sum_sq / n - mean * mean);
  const Normalization norm = train.normalization();
  CHECK(std::abs(mean - norm.mean[0]) <= 0.5e-4);
  CHECK(std::abs(std - norm.std[0]) <= 0.5e-4);
}
