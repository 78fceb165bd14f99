#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include "data/device_batch.h"
#include "data/synthetic.h"
#include "tests/support/gpu.h"

using namespace augur;
using namespace augur::data;

namespace {

std::shared_ptr<SyntheticDataset> small_set() {
  SyntheticOptions so;
  so.size = 21;
  so.shape = {6, 6, 3};
  return std::make_shared<SyntheticDataset>(so);
}

LoaderOptions options() {
  LoaderOptions o;
  o.batch_size = 8;
  o.workers = 2;
  o.augment = true;
  return o;
}

// Copies device data back with an explicit copy on `stream` and compares with the batch.
void check_matches(const DeviceBatch& db, const Batch& host, const Stream& stream) {
  REQUIRE(db.size() == host.size);
  std::vector<float> images(static_cast<size_t>(db.images().numel()));
  std::vector<int64_t> labels(static_cast<size_t>(db.labels().numel()));
  copy(TensorView(images.data(), DType::F32, Device::cpu(), db.images().shape()), db.images(),
       stream);
  copy(TensorView(labels.data(), DType::I64, Device::cpu(), db.labels().shape()), db.labels(),
       stream);
  stream.synchronize();
  const float* hi = host.images.as<float>();
  CHECK(images == std::vector<float>(hi, hi + images.size()));
  const int64_t* hl = host.labels.as<int64_t>();
  CHECK(labels == std::vector<int64_t>(hl, hl + labels.size()));
}

}  // namespace

TEST_CASE("DeviceBatch on the CPU backend: copies of every batch, the short last one too",
          "[data][device_batch]") {
  Loader loader(small_set(), options());
  const Stream& s = Stream::cpu();
  DeviceBatch db(Device::cpu(), 8, {6, 6, 3}, s);
  loader.start_epoch(0);
  while (auto b = loader.next()) {
    db.load(b, s);
    db.wait(s);
    check_matches(db, *b, s);
  }
  CHECK(db.size() == 5);
  CHECK(db.images().shape() == Shape::nhwc(5, 6, 6, 3));
}

TEST_CASE("gpu: DeviceBatch copies a batch asynchronously, waited on by another stream",
          "[data][device_batch][gpu]") {
  AUGUR_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  Stream copy_stream = Stream::create(gpu);
  Stream compute = Stream::create(gpu);
  Loader loader(small_set(), options());
  DeviceBatch a(gpu, 8, {6, 6, 3}, copy_stream), b(gpu, 8, {6, 6, 3}, copy_stream);
  loader.start_epoch(0);
  int i = 0;
  while (auto batch = loader.next()) {
    CHECK(batch->images.pinned());
    DeviceBatch& db = i++ % 2 == 0 ? a : b;
    db.load(batch, copy_stream);
    db.wait(compute);
    check_matches(db, *batch, compute);
  }
  CHECK(i == 3);
}
