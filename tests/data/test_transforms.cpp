#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "data/transforms.h"

using namespace augur;
using namespace augur::data;

namespace {

std::vector<float> scaled(const std::vector<int>& v) {
  std::vector<float> out;
  for (int x : v) out.push_back(x / 255.0f);
  return out;
}

}  // namespace

TEST_CASE("pad_crop_flip on a hand-computed 3x3 image", "[data][transforms]") {
  // 1 2 3
  // 4 5 6
  // 7 8 9
  const std::vector<uint8_t> px = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const ImageU8 src{px.data(), 3, 3, 1};
  std::vector<float> out(9);
  pad_crop_flip(src, 1, 1, 1, false, out.data());  // the centred crop: unchanged
  CHECK(out == scaled({1, 2, 3, 4, 5, 6, 7, 8, 9}));
  pad_crop_flip(src, 1, 0, 0, false, out.data());  // shifted down-right, zeros enter
  CHECK(out == scaled({0, 0, 0, 0, 1, 2, 0, 4, 5}));
  pad_crop_flip(src, 1, 2, 1, true, out.data());  // shifted up, then mirrored
  CHECK(out == scaled({6, 5, 4, 9, 8, 7, 0, 0, 0}));
  pad_crop_flip(src, 2, 4, 0, false, out.data());
  CHECK(out == scaled({0, 0, 7, 0, 0, 0, 0, 0, 0}));
  CHECK_THROWS(pad_crop_flip(src, 1, 3, 0, false, out.data()));
}

TEST_CASE("pad_crop_flip keeps channels together", "[data][transforms]") {
  const std::vector<uint8_t> px = {10, 11, 20, 21};  // 1x2, two channels
  std::vector<float> out(4);
  pad_crop_flip({px.data(), 1, 2, 2}, 0, 0, 0, true, out.data());
  CHECK(out == scaled({20, 21, 10, 11}));
}

TEST_CASE("random_pad_crop_flip draws offsets in [0, 2 pad] and flips about half the time",
          "[data][transforms]") {
  const std::vector<uint8_t> px = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const ImageU8 src{px.data(), 3, 3, 1};
  Random rng(3);
  int flips = 0, centred = 0;
  const int n = 2000;
  for (int i = 0; i < n; ++i) {
    std::vector<float> out(9);
    random_pad_crop_flip(src, 1, true, rng, out.data());
    // The centre pixel of a 3x3 image padded by 1 is always an image pixel; 5 when the crop
    // is centred, and a flip is visible in the middle row then.
    if (out[4] == 5 / 255.0f) {
      ++centred;
      if (out[3] == 6 / 255.0f) ++flips;
    }
  }
  // dy, dx uniform in {0, 1, 2}: P(centred) = 1/9; flips among them p = 1/2. Bounds at
  // five binomial standard deviations.
  const double p = 1.0 / 9, sd = std::sqrt(n * p * (1 - p));
  CHECK(std::abs(centred - n * p) < 5 * sd);
  CHECK(std::abs(flips - centred / 2.0) < 5 * std::sqrt(centred / 4.0));
}

TEST_CASE("resize_window: hand-computed bilinear cases, half-pixel centres, no antialiasing",
          "[data][transforms]") {
  std::vector<float> out(4);
  // Upsampling 1x2 -> 1x4: sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
  const std::vector<uint8_t> two = {0, 200};
  resize_window({two.data(), 1, 2, 1}, {0, 0, 1, 2}, 1, 4, {0, 0, 1, 4}, false, out.data());
  CHECK(out[0] == 0.0f);
  CHECK(out[1] == Approx(50 / 255.0).epsilon(1e-6));
  CHECK(out[2] == Approx(150 / 255.0).epsilon(1e-6));
  CHECK(out[3] == Approx(200 / 255.0).epsilon(1e-6));
  // Downsampling 1x8 -> 1x2: sources 1.5 and 5.5, the mean of pixels (1, 2) and (5, 6) only.
  // PIL's antialiased filter would weigh in all eight.
  const std::vector<uint8_t> eight = {0, 10, 20, 30, 40, 50, 60, 70};
  out.assign(2, 0);
  resize_window({eight.data(), 1, 8, 1}, {0, 0, 1, 8}, 1, 2, {0, 0, 1, 2}, false, out.data());
  CHECK(out[0] == Approx(15 / 255.0).epsilon(1e-6));
  CHECK(out[1] == Approx(55 / 255.0).epsilon(1e-6));
  // A region: the same as cropping pixels 4..7 first; samples never leave the region.
  resize_window({eight.data(), 1, 8, 1}, {0, 4, 1, 4}, 1, 8, {0, 0, 1, 2}, false, out.data());
  CHECK(out[0] == Approx(40 / 255.0).epsilon(1e-6));  // source -0.25 clamps to the region
  CHECK(out[1] == Approx(42.5 / 255.0).epsilon(1e-6));
  // A 2-D case: 2x2 -> 3x3 has sources 0 (clamped -1/6), 0.5 and 1 (clamped 7/6) per axis.
  const std::vector<uint8_t> sq = {0, 60, 120, 180};
  out.assign(9, 0);
  resize_window({sq.data(), 2, 2, 1}, {0, 0, 2, 2}, 3, 3, {0, 0, 3, 3}, false, out.data());
  const std::vector<double> want = {0, 30, 60, 60, 90, 120, 120, 150, 180};
  for (int i = 0; i < 9; ++i) CHECK(out[i] == Approx(want[i] / 255.0).margin(1e-6));
  // Identity size: the pixels themselves; flip mirrors the window.
  resize_window({sq.data(), 2, 2, 1}, {0, 0, 2, 2}, 2, 2, {0, 0, 2, 2}, true, out.data());
  CHECK(out[0] == 60 / 255.0f);
  CHECK(out[1] == 0.0f);
  CHECK(out[3] == 120 / 255.0f);
}

TEST_CASE("resize_center_crop follows torchvision's size and rounding rules",
          "[data][transforms]") {
  CHECK(eval_resize_for(224) == 256);
  CHECK(eval_resize_for(32) == 36);
  // 4x6 image, Resize(4) is the identity (shorter side already 4, longer int(4*6/4) = 6);
  // CenterCrop(2): top round(1.0) = 1, left round(2.0) = 2.
  std::vector<uint8_t> px(24);
  for (int i = 0; i < 24; ++i) px[i] = static_cast<uint8_t>(i * 10);
  std::vector<float> out(4);
  resize_center_crop({px.data(), 4, 6, 1}, 4, 2, out.data());
  CHECK(out == scaled({80, 90, 140, 150}));
  // 5x4 (portrait): CenterCrop(2) of the 5x4 image: top round(1.5) = 2 (half to even), left 1.
  resize_center_crop({px.data(), 5, 4, 1}, 4, 2, out.data());
  CHECK(out == scaled({90, 100, 130, 140}));
}

TEST_CASE("random_resized_crop_box: boxes inside the image with torchvision's scale and ratio",
          "[data][transforms]") {
  Random rng(11);
  for (int i = 0; i < 500; ++i) {
    const Box b = random_resized_crop_box(300, 400, rng);
    REQUIRE(b.top >= 0);
    REQUIRE(b.left >= 0);
    REQUIRE(b.top + b.height <= 300);
    REQUIRE(b.left + b.width <= 400);
    // Within the drawn ranges up to the rounding of each side to whole pixels.
    const double area = static_cast<double>(b.height) * b.width / (300.0 * 400.0);
    const double ratio = static_cast<double>(b.width) / b.height;
    CHECK(area >= 0.08 * (1 - 2.0 / std::min(b.height, b.width)) - 1e-9);
    CHECK(area <= 1.0);
    CHECK(ratio >= 0.75 * (1 - 2.0 / b.height));
    CHECK(ratio <= 4.0 / 3.0 * (1 + 2.0 / b.height));
  }
  // A 10x1000 strip: no try fits (at least 8% of the area needs more than 10 rows at these
  // ratios), so the fallback is the central crop at ratio 4/3: 10 x round(13.33) = 13,
  // left (1000 - 13) / 2 = 493.
  const Box f = random_resized_crop_box(10, 1000, rng);
  CHECK(f.top == 0);
  CHECK(f.height == 10);
  CHECK(f.width == 13);
  CHECK(f.left == 493);
  // A square image: the whole image when every try fails (scale range above 1).
  const Box whole = random_resized_crop_box(20, 20, rng, 2.0, 3.0);
  CHECK((whole.top == 0 && whole.left == 0 && whole.height == 20 && whole.width == 20));
}
