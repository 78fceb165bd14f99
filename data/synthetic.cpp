#include "data/synthetic.h"

#include <algorithm>
#include <cmath>

#include "runtime/error.h"

namespace augur::data {

namespace {

constexpr double kTwoPi = 6.283185307179586;
constexpr double kHalfPi = 1.5707963267948966;
constexpr uint64_t kTestStream = 0x7e57'5e7a'7e57'5e7aull;

}  // namespace

SyntheticDataset::SyntheticDataset(const SyntheticOptions& options)
    : SmallImageDataset(options.augment), options_(options) {
  AUGUR_ARG_CHECK(options.size >= 0, "synthetic dataset: size must be >= 0, got ", options.size);
  AUGUR_ARG_CHECK(options.num_classes >= 1, "synthetic dataset: num_classes must be >= 1, got ",
                  options.num_classes);
  AUGUR_ARG_CHECK(options.noise >= 0, "synthetic dataset: noise must be >= 0, got ", options.noise);
  AUGUR_ARG_CHECK(options.shape.h >= 4 && options.shape.w >= 4 &&
                      (options.shape.c == 1 || options.shape.c == 3),
                  "synthetic dataset: image shape ", options.shape.str(),
                  " (need at least 4x4 pixels and 1 or 3 channels)");
  orientations_ = std::min(options.num_classes, 4);
  frequencies_ = (options.num_classes + orientations_ - 1) / orientations_;
}

std::string SyntheticDataset::name() const {
  return detail::concat("synthetic ", split_name(options_.split), " (", options_.size, " of ",
                        options_.shape.str(), ", ", options_.num_classes, " classes, seed ",
                        options_.seed, ")");
}

Normalization SyntheticDataset::normalization() const {
  const double amp2 = (0.45 * 0.45 * 0.45 - 0.25 * 0.25 * 0.25) / (3 * 0.2);  // E[a^2]
  const double var = amp2 / 2 + 0.2 * 0.2 / 12 + options_.noise * options_.noise / 3;
  const size_t c = static_cast<size_t>(options_.shape.c);
  return {std::vector<float>(c, 0.5f), std::vector<float>(c, static_cast<float>(std::sqrt(var)))};
}

int64_t SyntheticDataset::label(int64_t index) const {
  check_index(index);
  return index % options_.num_classes;
}

double SyntheticDataset::class_angle(int k) const {
  const int o = k % orientations_;
  return orientations_ == 1 ? 0.0 : kHalfPi * o / (orientations_ - 1);
}

double SyntheticDataset::class_cycles(int k) const {
  // From 1.5 cycles to 4 pixels per cycle (well below Nyquist's 2).
  const double lo = 1.5, hi = std::max(lo, std::min(options_.shape.h, options_.shape.w) / 4.0);
  const int f = k / orientations_;
  return frequencies_ == 1 ? (lo + hi) / 2 : lo + (hi - lo) * f / (frequencies_ - 1);
}

const uint8_t* SyntheticDataset::pixels(int64_t index, std::vector<uint8_t>& scratch) const {
  const int k = static_cast<int>(index % options_.num_classes);
  const uint64_t stream = options_.seed ^ (options_.split == Split::Test ? kTestStream : 0);
  Random rng(Random(Random(stream).next_u64() ^ static_cast<uint64_t>(index)).next_u64());

  // Jitter stays below a sixth of the spacing between neighbouring classes.
  const double angle_step = orientations_ == 1 ? kHalfPi : kHalfPi / (orientations_ - 1);
  const double cycles_step =
      frequencies_ == 1 ? class_cycles(k) : class_cycles(orientations_) - class_cycles(0);
  const double angle = class_angle(k) + rng.uniform(-1.0, 1.0) * angle_step / 6;
  const double cycles = class_cycles(k) + rng.uniform(-1.0, 1.0) * cycles_step / 6;
  const double phase = rng.uniform(0.0, kTwoPi);
  const int64_t h = options_.shape.h, w = options_.shape.w, c = options_.shape.c;
  double amp[3], offset[3];
  for (int64_t ch = 0; ch < c; ++ch) {
    amp[ch] = rng.uniform(0.25, 0.45);
    offset[ch] = 0.5 + rng.uniform(-0.1, 0.1);
  }

  // sin(ax + by + p) = sin(ax) cos(by + p) + cos(ax) sin(by + p): trigonometry per row and
  // column only.
  const double freq = kTwoPi * cycles / static_cast<double>(w);
  const double a = freq * std::cos(angle), b = freq * std::sin(angle);
  std::vector<double> sx(w), cx(w), sy(h), cy(h);
  for (int64_t x = 0; x < w; ++x) {
    sx[x] = std::sin(a * x);
    cx[x] = std::cos(a * x);
  }
  for (int64_t y = 0; y < h; ++y) {
    sy[y] = std::sin(b * y + phase);
    cy[y] = std::cos(b * y + phase);
  }
  scratch.resize(static_cast<size_t>(h * w * c));
  uint8_t* out = scratch.data();
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      const double s = sx[x] * cy[y] + cx[x] * sy[y];
      for (int64_t ch = 0; ch < c; ++ch) {
        const double noise = rng.uniform(-options_.noise, options_.noise);
        const double v = std::clamp(offset[ch] + amp[ch] * s + noise, 0.0, 1.0);
        *out++ = static_cast<uint8_t>(std::lround(v * 255.0));
      }
    }
  }
  return scratch.data();
}

}  // namespace augur::data
