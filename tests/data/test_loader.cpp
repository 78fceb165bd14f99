#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <numeric>
#include <thread>
#include <vector>

#include "data/loader.h"
#include "data/synthetic.h"
#include "runtime/error.h"

using namespace augur;
using namespace augur::data;
using Catch::Matchers::Contains;

namespace {

// 2x2x1 images whose pixels identify the sample (index + p / 10), plus, when augmenting,
// one uniform draw in pixel 0 so the augmentation's randomness is visible. Can fail on one
// index (naming a made-up file) and be slow.
class ProbeDataset : public Dataset {
 public:
  explicit ProbeDataset(int64_t n, int64_t bad = -1, int sleep_us = 0)
      : n_(n), bad_(bad), sleep_us_(sleep_us) {}
  std::string name() const override { return "probe"; }
  int64_t size() const override { return n_; }
  int num_classes() const override { return 3; }
  ImageShape image_shape() const override { return {2, 2, 1}; }
  Normalization normalization() const override { return {{0.5f}, {2.0f}}; }
  int64_t label(int64_t index) const override { return index % 3; }
  void image(int64_t index, float* hwc, Random* rng) const override {
    if (sleep_us_ > 0) std::this_thread::sleep_for(std::chrono::microseconds(sleep_us_));
    if (index == bad_) AUGUR_THROW("/fake/sample_", index, ".bin: unreadable");
    for (int p = 0; p < 4; ++p) hwc[p] = static_cast<float>(index) + p / 10.0f;
    if (rng) hwc[0] += static_cast<float>(rng->uniform());
  }

 private:
  int64_t n_, bad_;
  int sleep_us_;
};

LoaderOptions opts(int64_t batch, int workers, uint64_t seed = 1) {
  LoaderOptions o;
  o.batch_size = batch;
  o.workers = workers;
  o.seed = seed;
  o.normalize = false;
  return o;
}

struct Epoch {
  std::vector<std::vector<int64_t>> samples;
  std::vector<std::vector<float>> images;
  std::vector<std::vector<int64_t>> labels;
};

Epoch run_epoch(Loader& loader, int64_t epoch, int64_t first_batch = 0) {
  loader.start_epoch(epoch, first_batch);
  Epoch e;
  int64_t expect_index = first_batch;
  while (auto b = loader.next()) {
    CHECK(b->index == expect_index++);
    CHECK(b->epoch == epoch);
    e.samples.push_back(b->samples);
    const float* img = b->images.as<float>();
    e.images.emplace_back(img, img + b->size * b->shape.numel());
    const int64_t* lab = b->labels.as<int64_t>();
    e.labels.emplace_back(lab, lab + b->size);
  }
  return e;
}

std::vector<int64_t> flatten(const Epoch& e) {
  std::vector<int64_t> all;
  for (const auto& s : e.samples) all.insert(all.end(), s.begin(), s.end());
  return all;
}

}  // namespace

TEST_CASE("loader: every epoch is a permutation fixed by (seed, epoch)", "[data][loader]") {
  auto d = std::make_shared<ProbeDataset>(50);
  Loader a(d, opts(8, 2)), b(d, opts(8, 2)), other(d, opts(8, 2, 99));
  const std::vector<int64_t> e0 = flatten(run_epoch(a, 0));
  std::vector<int64_t> sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> all(50);
  std::iota(all.begin(), all.end(), int64_t(0));
  CHECK(sorted == all);
  CHECK(e0 == a.epoch_order(0));
  CHECK(flatten(run_epoch(b, 0)) == e0);
  CHECK(flatten(run_epoch(a, 1)) != e0);
  CHECK(flatten(run_epoch(other, 0)) != e0);
  CHECK(flatten(run_epoch(a, 0)) == e0);  // epoch 0 again, after epoch 1
  // Without shuffling, the dataset's order.
  LoaderOptions o = opts(8, 2);
  o.shuffle = false;
  Loader plain(d, o);
  CHECK(flatten(run_epoch(plain, 3)) == all);
}

TEST_CASE("loader: batches hold the samples' images and labels", "[data][loader]") {
  auto d = std::make_shared<ProbeDataset>(10);
  LoaderOptions o = opts(4, 1);
  o.normalize = true;
  Loader loader(d, o);
  loader.start_epoch(0);
  auto b = loader.next();
  REQUIRE(b);
  CHECK(b->size == 4);
  CHECK(b->images_view().shape() == Shape::nhwc(4, 2, 2, 1));
  CHECK(b->labels_view().shape() == Shape{4});
  CHECK(b->labels_view().dtype() == DType::I64);
  for (int64_t i = 0; i < 4; ++i) {
    const int64_t s = b->samples[static_cast<size_t>(i)];
    CHECK(b->labels.as<int64_t>()[i] == s % 3);
    for (int p = 0; p < 4; ++p) {
      const float raw = static_cast<float>(s) + p / 10.0f;
      CHECK(b->images.as<float>()[i * 4 + p] == Approx((raw - 0.5f) / 2.0f));
    }
  }
}

TEST_CASE("loader: 0, 1 and 2 workers give identical batches, augmented or not", "[data][loader]") {
  SyntheticOptions so;
  so.size = 70;
  so.shape = {12, 12, 3};
  auto d = std::make_shared<SyntheticDataset>(so);
  for (bool augment : {false, true}) {
    LoaderOptions o;
    o.batch_size = 16;
    o.seed = 5;
    o.augment = augment;
    o.workers = 1;
    Loader one(d, o);
    o.workers = 2;
    o.prefetch = 2;
    Loader two(d, o);
    o.workers = 0;
    Loader none(d, o);
    for (int64_t epoch : {0, 1}) {
      const Epoch e1 = run_epoch(one, epoch), e2 = run_epoch(two, epoch),
                  e0 = run_epoch(none, epoch);
      CHECK(e1.samples == e2.samples);
      CHECK(e1.images == e2.images);
      CHECK(e1.labels == e2.labels);
      CHECK(e0.images == e1.images);
    }
  }
}

TEST_CASE("loader: augmentation depends on (seed, epoch, sample) only", "[data][loader]") {
  auto d = std::make_shared<ProbeDataset>(12);
  LoaderOptions o = opts(4, 2);
  o.augment = true;
  Loader a(d, o);
  o.batch_size = 5;
  Loader b(d, o);  // other batches, same seed
  const auto by_sample = [](const Epoch& e) {
    std::vector<float> first(12);
    for (size_t i = 0; i < e.samples.size(); ++i)
      for (size_t j = 0; j < e.samples[i].size(); ++j)
        first[static_cast<size_t>(e.samples[i][j])] = e.images[i][j * 4];
    return first;
  };
  const std::vector<float> a0 = by_sample(run_epoch(a, 0));
  CHECK(a0 == by_sample(run_epoch(b, 0)));
  CHECK(a0 != by_sample(run_epoch(a, 1)));
  for (int64_t i = 0; i < 12; ++i) {
    Random r = augmentation_rng(o.seed, 0, i);
    CHECK(a0[static_cast<size_t>(i)] == static_cast<float>(i) + static_cast<float>(r.uniform()));
  }
}

TEST_CASE("loader: drop_last and limit", "[data][loader]") {
  auto d = std::make_shared<ProbeDataset>(10);
  Loader keep(d, opts(4, 2));
  const Epoch k = run_epoch(keep, 0);
  CHECK(keep.batches_per_epoch() == 3);
  REQUIRE(k.samples.size() == 3);
  CHECK(k.samples[2].size() == 2);
  LoaderOptions o = opts(4, 2);
  o.drop_last = true;
  Loader drop(d, o);
  CHECK(drop.batches_per_epoch() == 2);
  const Epoch dr = run_epoch(drop, 0);
  CHECK(dr.samples.size() == 2);
  CHECK(dr.samples[1] == k.samples[1]);  // the same order, the short batch gone
  o.drop_last = false;
  o.limit = 7;
  Loader limited(d, o);
  CHECK(limited.samples_per_epoch() == 7);
  const std::vector<int64_t> l = flatten(run_epoch(limited, 0));
  CHECK(l.size() == 7);
  CHECK(*std::max_element(l.begin(), l.end()) == 6);
  o.limit = 100;  // more than the dataset: all of it
  CHECK(Loader(d, o).samples_per_epoch() == 10);
}

TEST_CASE("loader: resuming mid-epoch gives the rest of the uninterrupted epoch",
          "[data][loader]") {
  SyntheticOptions so;
  so.size = 45;
  so.shape = {8, 8, 1};
  auto d = std::make_shared<SyntheticDataset>(so);
  LoaderOptions o;
  o.batch_size = 6;
  o.seed = 3;
  o.augment = true;
  o.workers = 2;
  Loader full(d, o);
  const Epoch whole = run_epoch(full, 4);
  REQUIRE(whole.samples.size() == 8);
  Loader resumed(d, o);
  // A first run stopped after two batches, then a fresh loader resumes at batch 3.
  resumed.start_epoch(4);
  resumed.next();
  resumed.next();
  const Epoch rest = run_epoch(resumed, 4, 3);
  REQUIRE(rest.samples.size() == 5);
  for (size_t i = 0; i < 5; ++i) {
    CHECK(rest.samples[i] == whole.samples[i + 3]);
    CHECK(rest.images[i] == whole.images[i + 3]);
  }
  CHECK(run_epoch(resumed, 4, 8).samples.empty());  // resuming at the end: nothing left
  CHECK_THROWS(resumed.start_epoch(4, 9));
}

TEST_CASE("loader: a worker's error reaches the consumer at its batch, naming the file",
          "[data][loader]") {
  auto d = std::make_shared<ProbeDataset>(20, 13);
  LoaderOptions o = opts(4, 2);
  o.shuffle = false;
  Loader loader(d, o);
  loader.start_epoch(0);
  for (int i = 0; i < 3; ++i) CHECK(loader.next() != nullptr);
  CHECK_THROWS_WITH(loader.next(), Contains("/fake/sample_13.bin") && Contains("batch 3") &&
                                       Contains("sample 13"));
  CHECK(loader.next() != nullptr);  // the epoch goes on after the failed batch
  CHECK(loader.next() == nullptr);
  Loader inline_loader(d, [&] {
    LoaderOptions x = o;
    x.workers = 0;
    return x;
  }());
  inline_loader.start_epoch(0);
  for (int i = 0; i < 3; ++i) inline_loader.next();
  CHECK_THROWS_WITH(inline_loader.next(), Contains("/fake/sample_13.bin"));
}

TEST_CASE("loader: holding every batch of an epoch does not stall the workers", "[data][loader]") {
  auto d = std::make_shared<ProbeDataset>(64);
  LoaderOptions o = opts(4, 2);
  o.prefetch = 1;
  Loader loader(d, o);
  loader.start_epoch(0);
  std::vector<std::shared_ptr<const Batch>> held;
  while (auto b = loader.next()) held.push_back(b);
  CHECK(held.size() == 16);
  // Buffers are distinct while held.
  CHECK(held[0]->images.data() != held[1]->images.data());
}

TEST_CASE("loader: destruction and restarts mid-epoch do not hang", "[data][loader]") {
  auto slow = std::make_shared<ProbeDataset>(400, -1, 200);
  std::shared_ptr<const Batch> kept;
  {
    Loader loader(slow, opts(8, 2));
    loader.start_epoch(0);
    kept = loader.next();
    loader.start_epoch(1);  // abandons epoch 0 while workers are busy
    CHECK(loader.next()->epoch == 1);
    loader.next();
  }
  // A batch outlives its loader.
  REQUIRE(kept);
  CHECK(kept->size == 8);
  CHECK(kept->labels.as<int64_t>()[0] == kept->samples[0] % 3);
  { Loader never_started(slow, opts(8, 2)); }
  Loader loader(slow, opts(8, 2));
  CHECK_THROWS_WITH(loader.next(), Contains("start_epoch"));
}

TEST_CASE("loader: argument checks", "[data][loader]") {
  auto d = std::make_shared<ProbeDataset>(4);
  CHECK_THROWS(Loader(d, opts(0, 1)));
  CHECK_THROWS(Loader(d, opts(2, -1)));
  CHECK_THROWS(Loader(nullptr, opts(2, 1)));
  LoaderOptions o = opts(2, 1);
  o.normalize = true;
  struct ThreeMeans : ProbeDataset {
    ThreeMeans() : ProbeDataset(4) {}
    Normalization normalization() const override { return {{0, 0, 0}, {1, 1, 1}}; }
  };
  CHECK_THROWS_WITH(Loader(std::make_shared<ThreeMeans>(), o), Contains("1 channels"));
}
