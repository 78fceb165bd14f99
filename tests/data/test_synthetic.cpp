#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "data/synthetic.h"

using namespace augur;
using namespace augur::data;

namespace {

SyntheticDataset make(Split split, uint64_t seed = 1, ImageShape shape = {32, 32, 3},
                      int64_t size = 400) {
  SyntheticOptions o;
  o.size = size;
  o.shape = shape;
  o.seed = seed;
  o.split = split;
  return SyntheticDataset(o);
}

// Phase-invariant features of a grating: the normalised autocorrelation of the grey image
// at small shifts, symmetrised over a left-right flip (r(dx, dy) + r(-dx, dy)), so that
// orientation and frequency show and a flipped sample looks like its class.
std::vector<double> features(const std::vector<float>& img, ImageShape s) {
  const int64_t h = s.h, w = s.w, c = s.c;
  std::vector<double> g(static_cast<size_t>(h * w));
  double mean = 0;
  for (int64_t p = 0; p < h * w; ++p) {
    for (int64_t ch = 0; ch < c; ++ch) g[p] += img[p * c + ch] / c;
    mean += g[p] / (h * w);
  }
  double var = 0;
  for (double& v : g) {
    v -= mean;
    var += v * v;
  }
  std::vector<double> f;
  const auto r = [&](int dx, int dy) {
    double acc = 0;
    for (int64_t y = 0; y + dy < h; ++y)
      for (int64_t x = std::max(0, -dx); x < w && x + dx < w; ++x)
        acc += g[y * w + x] * g[(y + dy) * w + x + dx];
    return acc / var;
  };
  for (int dy = 0; dy <= 3; ++dy)
    for (int dx = 0; dx <= 3; ++dx) f.push_back(r(dx, dy) + r(-dx, dy));
  return f;
}

double nearest_class_mean_accuracy(const SyntheticDataset& train, const SyntheticDataset& test,
                                   bool flip_test) {
  const int k = train.num_classes();
  std::vector<std::vector<double>> means(static_cast<size_t>(k));
  std::vector<int> counts(static_cast<size_t>(k), 0);
  for (int64_t i = 0; i < train.size(); ++i) {
    const std::vector<double> f = features(train.get(i).image, train.image_shape());
    auto& m = means[static_cast<size_t>(train.label(i))];
    m.resize(f.size(), 0.0);
    for (size_t j = 0; j < f.size(); ++j) m[j] += f[j];
    ++counts[static_cast<size_t>(train.label(i))];
  }
  for (int c = 0; c < k; ++c)
    for (double& v : means[static_cast<size_t>(c)]) v /= counts[static_cast<size_t>(c)];
  int correct = 0;
  const ImageShape s = test.image_shape();
  for (int64_t i = 0; i < test.size(); ++i) {
    std::vector<float> img = test.get(i).image;
    if (flip_test) {
      for (int64_t y = 0; y < s.h; ++y)
        for (int64_t x = 0; x < s.w / 2; ++x)
          for (int64_t ch = 0; ch < s.c; ++ch)
            std::swap(img[(y * s.w + x) * s.c + ch], img[(y * s.w + s.w - 1 - x) * s.c + ch]);
    }
    const std::vector<double> f = features(img, s);
    int best = 0;
    double best_d = 1e300;
    for (int c = 0; c < k; ++c) {
      double d = 0;
      for (size_t j = 0; j < f.size(); ++j)
        d += std::pow(f[j] - means[static_cast<size_t>(c)][j], 2);
      if (d < best_d) {
        best_d = d;
        best = c;
      }
    }
    correct += best == test.label(i);
  }
  return static_cast<double>(correct) / test.size();
}

}  // namespace

TEST_CASE("synthetic: a pure function of (seed, split, index)", "[data][synthetic]") {
  const SyntheticDataset a = make(Split::Train), b = make(Split::Train);
  const SyntheticDataset other_seed = make(Split::Train, 2), test = make(Split::Test);
  for (int64_t i : {0, 7, 399}) {
    CHECK(a.raw(i) == b.raw(i));
    CHECK(a.raw(i) != other_seed.raw(i));
    CHECK(a.raw(i) != test.raw(i));
    CHECK(a.label(i) == i % 10);
  }
  CHECK(a.size() == 400);
  CHECK(a.image_shape() == ImageShape{32, 32, 3});
  Random r1(4), r2(4);
  CHECK(a.get(3, &r1).image == b.get(3, &r2).image);
}

TEST_CASE("synthetic: class orientations stay within [0, 90] degrees", "[data][synthetic]") {
  const SyntheticDataset d = make(Split::Train);
  for (int k = 0; k < 10; ++k) {
    CHECK(d.class_angle(k) >= 0.0);
    CHECK(d.class_angle(k) <= M_PI / 2 + 1e-12);
    CHECK(d.class_cycles(k) <= 8.0 + 1e-12);  // 4 pixels per cycle at 32 pixels
  }
  // Classes differ in orientation or frequency.
  for (int k = 0; k < 10; ++k)
    for (int j = k + 1; j < 10; ++j)
      CHECK((d.class_angle(k) != d.class_angle(j) || d.class_cycles(k) != d.class_cycles(j)));
}

TEST_CASE("synthetic: classes are separable, flipped or not", "[data][synthetic]") {
  // A nearest-class-mean classifier on phase-invariant features of the raw pixels: chance is
  // 10%, and a dataset a small ResNet learns quickly should be far above it.
  for (ImageShape shape : {ImageShape{32, 32, 3}, ImageShape{28, 28, 1}}) {
    const SyntheticDataset train = make(Split::Train, 3, shape, 500);
    const SyntheticDataset test = make(Split::Test, 3, shape, 300);
    const double acc = nearest_class_mean_accuracy(train, test, false);
    const double flipped = nearest_class_mean_accuracy(train, test, true);
    INFO("shape " << shape.str() << ": accuracy " << acc << ", on flipped images " << flipped);
    CHECK(acc > 0.8);
    CHECK(flipped > 0.8);
  }
}

TEST_CASE("synthetic: pixel statistics match its declared normalisation", "[data][synthetic]") {
  const SyntheticDataset d = make(Split::Train, 5, {32, 32, 3}, 2000);
  std::vector<double> sum(3, 0), sum_sq(3, 0);
  int64_t n = 0;
  for (int64_t i = 0; i < d.size(); ++i) {
    const std::vector<uint8_t> raw = d.raw(i);
    for (size_t p = 0; p < raw.size(); ++p) {
      const double x = raw[p] / 255.0;
      sum[p % 3] += x;
      sum_sq[p % 3] += x * x;
    }
    n += 32 * 32;
  }
  const Normalization norm = d.normalization();
  for (int c = 0; c < 3; ++c) {
    const double mean = sum[c] / n, std = std::sqrt(sum_sq[c] / n - mean * mean);
    INFO("channel " << c << ": mean " << mean << ", std " << std);
    // Per-image tint and amplitude vary (std about 0.06 and 0.06), so 2000 images give
    // standard errors near 0.06 / sqrt(2000) = 0.0013; the bound allows about five of them
    // plus the small effect of clipping and of uint8 rounding (1/255 / sqrt(12) on the std).
    CHECK(std::abs(mean - norm.mean[c]) < 0.007);
    CHECK(std::abs(std - norm.std[c]) < 0.007);
  }
}
