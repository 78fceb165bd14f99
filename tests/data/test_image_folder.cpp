#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "data/image_folder.h"
#include "data/jpeg.h"
#include "data/loader.h"
#include "tests/data/data_files.h"

using namespace augur;
using namespace augur::data;
using namespace augur::test;
using Catch::Matchers::Contains;

namespace {

// root/train/{apple, banana, cherry}: solid red, green and blue images of several sizes, one
// inside a nested folder, plus files that are not JPEGs.
void make_folder(const TempDir& dir) {
  const std::string train = dir.file("train");
  std::filesystem::create_directories(train + "/banana/nested");
  std::filesystem::create_directories(train + "/apple");
  std::filesystem::create_directories(train + "/cherry");
  std::vector<uint8_t> red = solid_rgb(40, 60, 220, 20, 20);
  std::vector<uint8_t> green = solid_rgb(50, 30, 20, 200, 30);
  std::vector<uint8_t> blue = solid_rgb(24, 24, 10, 30, 210);
  write_jpeg(train + "/apple/b.jpg", red.data(), 40, 60);
  write_jpeg(train + "/apple/a.JPEG", red.data(), 40, 60);
  write_jpeg(train + "/banana/x.jpeg", green.data(), 50, 30);
  write_jpeg(train + "/banana/nested/y.jpg", green.data(), 50, 30);
  write_jpeg(train + "/cherry/c.jpg", blue.data(), 24, 24);
  write_bytes(train + "/cherry/notes.txt", {'h', 'i'});
  write_bytes(train + "/README", {'x'});
  std::filesystem::create_directories(dir.file("val/apple"));
  write_jpeg(dir.file("val/apple/v.jpg"), red.data(), 40, 60);
}

ImageFolderOptions options_for(const TempDir& dir, Split split = Split::Train, int size = 16) {
  ImageFolderOptions o;
  o.root = dir.path();
  o.split = split;
  o.size = size;
  return o;
}

}  // namespace

TEST_CASE("image folder: sorted classes, recursive JPEG files, other files ignored",
          "[data][image_folder]") {
  TempDir dir;
  make_folder(dir);
  const ImageFolderDataset d(options_for(dir));
  CHECK(d.classes() == std::vector<std::string>{"apple", "banana", "cherry"});
  REQUIRE(d.size() == 5);
  CHECK(d.num_classes() == 3);
  CHECK(d.image_shape() == ImageShape{16, 16, 3});
  // Files sorted within a class ("a.JPEG" < "b.jpg"), a folder's own files before those of
  // its sub-folders (torchvision's sorted os.walk), though "nested/y.jpg" < "x.jpeg".
  CHECK(d.path(0) == dir.file("train/apple/a.JPEG"));
  CHECK(d.path(1) == dir.file("train/apple/b.jpg"));
  CHECK(d.path(2) == dir.file("train/banana/x.jpeg"));
  CHECK(d.path(3) == dir.file("train/banana/nested/y.jpg"));
  const std::vector<int64_t> labels = {d.label(0), d.label(1), d.label(2), d.label(3), d.label(4)};
  CHECK(labels == std::vector<int64_t>{0, 0, 1, 1, 2});
  const ImageFolderDataset val(options_for(dir, Split::Test));
  CHECK(val.size() == 1);
  CHECK(val.folder() == dir.file("val"));
}

TEST_CASE("image folder: decoded colours survive both transforms", "[data][image_folder]") {
  TempDir dir;
  make_folder(dir);
  const ImageFolderDataset d(options_for(dir));
  const float want[3][3] = {{220, 20, 20}, {20, 200, 30}, {10, 30, 210}};
  // A uniform image stays uniform under any crop and resize; JPEG's colour conversion and
  // chroma quantisation at quality 90 move a solid colour by a few levels.
  const float tolerance = 6.0f / 255.0f;
  Random rng(5);
  for (int64_t i : {0, 3, 4}) {
    const int64_t k = d.label(i);
    for (Random* r : {static_cast<Random*>(nullptr), &rng}) {
      const Dataset::Sample s = d.get(i, r);
      REQUIRE(s.image.size() == 16u * 16u * 3u);
      for (size_t p = 0; p < s.image.size(); ++p)
        REQUIRE(std::abs(s.image[p] - want[k][p % 3] / 255.0f) <= tolerance);
    }
  }
}

TEST_CASE("image folder: the training transform is random but fixed by the rng",
          "[data][image_folder]") {
  TempDir dir;
  std::filesystem::create_directories(dir.file("train/only"));
  const std::vector<uint8_t> px = pattern_rgb(48, 64, 1);
  write_jpeg(dir.file("train/only/p.jpg"), px.data(), 48, 64, 95);
  const ImageFolderDataset d(options_for(dir, Split::Train, 24));
  Random a(1), b(1), c(2);
  const std::vector<float> first = d.get(0, &a).image;
  CHECK(first == d.get(0, &b).image);
  CHECK(first != d.get(0, &c).image);
  // Evaluation is deterministic and differs from a random crop.
  CHECK(d.get(0).image == d.get(0).image);
  CHECK(d.get(0).image != first);
  // The evaluation crop of a gradient image: Resize(27) of 48x64 gives 27x36 and the
  // centre 24x24 window, so the red channel (x gradient) increases left to right.
  const std::vector<float> eval = d.get(0).image;
  CHECK(eval[0] < eval[23 * 3]);
}

TEST_CASE("image folder: one class list, from train/, numbers both splits",
          "[data][image_folder]") {
  TempDir dir;
  make_folder(dir);  // train/{apple, banana, cherry}, val/apple
  const std::vector<uint8_t> green = solid_rgb(8, 8, 20, 200, 30);
  std::filesystem::create_directories(dir.file("val/cherry"));
  write_jpeg(dir.file("val/cherry/c.jpg"), green.data(), 8, 8);
  // val/ lacks banana: cherry is still class 2, as in training, and there are 3 classes.
  const ImageFolderDataset val(options_for(dir, Split::Test));
  CHECK(val.classes() == std::vector<std::string>{"apple", "banana", "cherry"});
  CHECK(val.num_classes() == 3);
  REQUIRE(val.size() == 2);
  CHECK(val.label(0) == 0);
  CHECK(val.label(1) == 2);
  // A class training never saw (torchvision would number eel 1, as banana): refused when
  // the split is opened, naming the folder.
  std::filesystem::create_directories(dir.file("val/eel"));
  write_jpeg(dir.file("val/eel/e.jpg"), green.data(), 8, 8);
  CHECK_THROWS_WITH(ImageFolderDataset(options_for(dir, Split::Test)),
                    Contains(dir.file("val/eel")) && Contains("not among the 3 classes"));
}

TEST_CASE("image folder: errors name the file or folder", "[data][image_folder]") {
  TempDir dir;
  SECTION("missing split folder") {
    CHECK_THROWS_WITH(ImageFolderDataset(options_for(dir)),
                      Contains(dir.file("train")) && Contains("no such folder"));
  }
  SECTION("no class folders") {
    std::filesystem::create_directories(dir.file("train"));
    CHECK_THROWS_WITH(ImageFolderDataset(options_for(dir)), Contains(dir.file("train")));
  }
  SECTION("a class folder without JPEGs") {
    make_folder(dir);
    std::filesystem::create_directories(dir.file("train/date"));
    write_bytes(dir.file("train/date/picture.png"), {1, 2, 3});
    CHECK_THROWS_WITH(ImageFolderDataset(options_for(dir)),
                      Contains(dir.file("train/date")) && Contains("no JPEG"));
  }
  SECTION("an unreadable JPEG") {
    make_folder(dir);
    const std::string bad = dir.file("train/cherry/zzz.jpg");
    write_bytes(bad, {'n', 'o', 't', ' ', 'a', ' ', 'j', 'p', 'e', 'g'});
    const ImageFolderDataset d(options_for(dir));
    REQUIRE(d.path(5) == bad);
    CHECK_THROWS_WITH(d.get(5), Contains(bad) && Contains("not a readable JPEG"));
    // Through the loader the error reaches the consumer, still naming the file.
    Loader loader(std::make_shared<ImageFolderDataset>(options_for(dir)), [] {
      LoaderOptions o;
      o.batch_size = 2;
      o.shuffle = false;
      o.workers = 2;
      return o;
    }());
    loader.start_epoch(0);
    CHECK(loader.next() != nullptr);
    CHECK(loader.next() != nullptr);
    CHECK_THROWS_WITH(loader.next(), Contains(bad) && Contains("batch 2"));
  }
  SECTION("a truncated JPEG") {
    make_folder(dir);
    const std::vector<uint8_t> px = pattern_rgb(64, 64, 2);
    std::vector<uint8_t> bytes = encode_jpeg(px.data(), 64, 64);
    bytes.resize(bytes.size() / 2);
    const std::string cut = dir.file("train/cherry/cut.jpg");
    write_bytes(cut, bytes);
    const ImageFolderDataset d(options_for(dir));
    CHECK_THROWS_WITH(d.get(5), Contains(cut));
  }
  SECTION("an empty file") {
    make_folder(dir);
    const std::string empty = dir.file("train/cherry/d.jpg");
    write_bytes(empty, {});
    const ImageFolderDataset d(options_for(dir));
    CHECK_THROWS_WITH(d.get(5), Contains(empty));
  }
}

TEST_CASE("JPEG round trip through libturbojpeg", "[data][image_folder]") {
  const std::vector<uint8_t> px = pattern_rgb(20, 30, 3);
  const std::vector<uint8_t> bytes = encode_jpeg(px.data(), 20, 30, 100);
  const RgbImage img = decode_jpeg(bytes.data(), bytes.size(), "memory");
  REQUIRE(img.h == 20);
  REQUIRE(img.w == 30);
  // Quality 100 with 4:2:0 chroma: the smooth pattern comes back within a few levels on
  // average (chroma subsampling blurs the third channel's fine detail most).
  double err = 0;
  for (size_t i = 0; i < px.size(); ++i) err += std::abs(int(px[i]) - int(img.pixels[i]));
  CHECK(err / px.size() < 8.0);
  CHECK_THROWS_WITH(decode_jpeg(bytes.data(), 10, "ten bytes"), Contains("ten bytes"));
}

namespace {

// A copy of a JPEG whose frame header (SOF0) claims h x w pixels.
std::vector<uint8_t> with_claimed_size(std::vector<uint8_t> jpeg, int h, int w) {
  for (size_t i = 0; i + 8 < jpeg.size(); ++i)
    if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0) {  // SOF0: length(2) precision(1) h(2) w(2)
      jpeg[i + 5] = uint8_t(h >> 8);
      jpeg[i + 6] = uint8_t(h);
      jpeg[i + 7] = uint8_t(w >> 8);
      jpeg[i + 8] = uint8_t(w);
      return jpeg;
    }
  FAIL("no SOF0 marker");
  return jpeg;
}

}  // namespace

TEST_CASE("a JPEG's claimed size is checked before it is decoded", "[data][image_folder]") {
  const std::vector<uint8_t> px = pattern_rgb(16, 16, 3);
  const std::vector<uint8_t> small = encode_jpeg(px.data(), 16, 16, 90);
  // The case: about a kilobyte claiming 65,500 x 65,500 (12.7 GB, 94 s before).
  const auto huge = with_claimed_size(small, 65500, 65500);
  CHECK_THROWS_WITH(decode_jpeg(huge.data(), huge.size(), "huge.jpg"),
                    Contains("huge.jpg") && Contains("65500x65500") && Contains("over the limit"));
  // Within the side limits but far more pixels than the bytes can hold.
  const auto claims = with_claimed_size(small, 8000, 8000);
  CHECK_THROWS_WITH(decode_jpeg(claims.data(), claims.size(), "claims.jpg"),
                    Contains("claims.jpg") && Contains("8000x8000") && Contains("bytes"));
  // The unchanged file still decodes.
  CHECK(decode_jpeg(small.data(), small.size(), "small.jpg").h == 16);
}
