#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "data/cifar.h"
#include "tests/data/data_files.h"

using namespace augur;
using namespace augur::data;
using namespace augur::test;
using Catch::Matchers::Contains;

TEST_CASE("CIFAR-10: a batch becomes HWC images and labels", "[data][cifar]") {
  TempDir dir;
  write_cifar_batch(dir.file("test_batch.bin"), {4, 0, 9});
  CifarOptions o;
  o.dir = dir.path();
  o.split = Split::Test;
  const CifarDataset d(o);
  REQUIRE(d.size() == 3);
  CHECK(d.image_shape() == ImageShape{32, 32, 3});
  CHECK(d.num_classes() == 10);
  CHECK(d.label(0) == 4);
  CHECK(d.label(2) == 9);
  for (int r = 0; r < 3; ++r) {
    const std::vector<uint8_t> raw = d.raw(r);
    for (int p = 0; p < 1024; p += 37)
      for (int c = 0; c < 3; ++c) CHECK(raw[p * 3 + c] == cifar_pixel(r, c, p));
  }
  // Pixel (row 1, column 2) of record 2, channel G: plane offset 1 * 32 + 2.
  const Dataset::Sample s = d.get(2);
  CHECK(s.image[(32 + 2) * 3 + 1] == cifar_pixel(2, 1, 34) / 255.0f);
  CHECK(s.label == 9);
}

TEST_CASE("CIFAR-10: training batches concatenate, found in cifar-10-batches-bin/",
          "[data][cifar]") {
  TempDir dir;
  write_cifar_batch(dir.file("cifar-10-batches-bin/data_batch_1.bin"), {1, 2});
  write_cifar_batch(dir.file("cifar-10-batches-bin/data_batch_2.bin"), {3});
  CifarOptions o;
  o.dir = dir.path();
  o.train_batches = 2;
  const CifarDataset d(o);
  REQUIRE(d.size() == 3);
  CHECK(d.label(2) == 3);
  CHECK(d.raw(2)[0] == cifar_pixel(0, 0, 0));  // the first record of the second file
  CHECK(d.files()[1] == dir.file("cifar-10-batches-bin/data_batch_2.bin"));
  CHECK(d.augment().pad == 4);
  CHECK(d.augment().flip);
  CHECK(cifar_file_names(Split::Train).size() == 5);
}

TEST_CASE("CIFAR-10: errors name the file", "[data][cifar]") {
  TempDir dir;
  CifarOptions o;
  o.dir = dir.path();
  o.split = Split::Test;
  const std::string path = dir.file("test_batch.bin");
  SECTION("missing file") {
    CHECK_THROWS_WITH(CifarDataset(o), Contains(path) && Contains("not found"));
  }
  SECTION("truncated file") {
    write_cifar_batch(path, {1, 2});
    std::vector<uint8_t> bytes = read_bytes(path);
    bytes.resize(bytes.size() - 100);
    write_bytes(path, bytes);
    CHECK_THROWS_WITH(CifarDataset(o), Contains(path) && Contains("3073"));
  }
  SECTION("empty file") {
    write_bytes(path, {});
    CHECK_THROWS_WITH(CifarDataset(o), Contains(path));
  }
  SECTION("label out of range") {
    write_cifar_batch(path, {1, 10});
    CHECK_THROWS_WITH(CifarDataset(o), Contains(path) && Contains("label 10 of record 1"));
  }
  SECTION("one training file of five missing") {
    o.split = Split::Train;
    for (int i = 1; i <= 4; ++i)
      write_cifar_batch(dir.file("data_batch_" + std::to_string(i) + ".bin"), {1});
    CHECK_THROWS_WITH(CifarDataset(o), Contains(dir.file("data_batch_5.bin")));
  }
}
