#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/pool.h"
#include "kernels/pool_math.h"
#include "tests/support/close.h"
#include "tests/support/gpu.h"
#include "tests/support/grad_check.h"
#include "tests/support/random.h"
#include "tests/support/tensors.h"

using namespace augur;
using namespace augur::test;
namespace k = augur::kernels;

namespace {

const Device kCpu = Device::cpu();

// The 4x4 anchor image (one channel). With 3x3 windows, stride 2 and padding 1 the output is
// 2x2 and the windows cover rows/columns {0,1} and {1,2,3}:
//   3 1 4 1      window (0,0): rows 0-1, cols 0-1 -> {3,1,5,0}: 5 at (1,0), index 4
//   5 0 2 6      window (0,1): rows 0-1, cols 1-3 -> {1,4,1,0,2,6}: 6 at (1,3), index 7
//   5 3 5 9      window (1,0): rows 1-3, cols 0-1 -> {5,0,5,3,9,7}: 9 at (3,0), index 12
//   9 7 9 3      window (1,1): rows 1-3, cols 1-3 -> 9 at (2,3) and (3,2): the first in
//                row-major order wins, (2,3), index 11
const std::vector<float> kImage = {3, 1, 4, 1, 5, 0, 2, 6, 5, 3, 5, 9, 9, 7, 9, 3};

}  // namespace

TEST_CASE("max pool 3x3/2/1 on a hand-computed 4x4 image", "[kernels][pool]") {
  const Stream& s = Stream::cpu();
  const auto p = k::MaxPoolParams::square(3, 2, 1);
  CHECK(k::max_pool_output_shape(Shape::nhwc(1, 4, 4, 1), p) == Shape::nhwc(1, 2, 2, 1));
  Tensor x = make_tensor(kImage, Shape::nhwc(1, 4, 4, 1), kCpu, s);
  Tensor y = Tensor::empty(Shape::nhwc(1, 2, 2, 1), DType::F32, kCpu);
  Tensor arg = Tensor::empty(Shape::nhwc(1, 2, 2, 1), DType::I32, kCpu);
  k::max_pool_forward(x, y, arg, p, s);
  CHECK(to_vector<float>(y, s) == std::vector<float>{5, 6, 9, 9});
  CHECK(to_vector<int32_t>(arg, s) == std::vector<int32_t>{4, 7, 12, 11});

  // Each dy goes to its winner; every other input gets 0 (dx starts as garbage: overwritten).
  Tensor dy = make_tensor<float>({1, 2, 3, 4}, Shape::nhwc(1, 2, 2, 1), kCpu, s);
  Tensor dx = make_tensor(std::vector<float>(16, 42.f), Shape::nhwc(1, 4, 4, 1), kCpu, s);
  k::max_pool_backward(dy, arg, dx, p, s);
  std::vector<float> expected(16, 0.f);
  expected[4] = 1, expected[7] = 2, expected[12] = 3, expected[11] = 4;
  CHECK(to_vector<float>(dx, s) == expected);

  // Padding is -inf, not 0: the same image shifted to all-negative values keeps its winners.
  std::vector<float> negative = kImage;
  for (float& v : negative) v -= 10;
  Tensor xn = make_tensor(negative, Shape::nhwc(1, 4, 4, 1), kCpu, s);
  k::max_pool_forward(xn, y, arg, p, s);
  CHECK(to_vector<float>(y, s) == std::vector<float>{-5, -4, -1, -1});
  CHECK(to_vector<int32_t>(arg, s) == std::vector<int32_t>{4, 7, 12, 11});
}

TEST_CASE("max pool backward sums the gradients of an input that wins several windows",
          "[kernels][pool]") {
  // A 3x3 image whose centre is the unique maximum: all four 3x3/2/1 windows (rows and
  // columns {0,1} and {1,2}) contain it, so it receives 1 + 2 + 3 + 4 = 10.
  const Stream& s = Stream::cpu();
  const auto p = k::MaxPoolParams::square(3, 2, 1);
  Tensor x = make_tensor<double>({0, 0, 0, 0, 1, 0, 0, 0, 0}, Shape::nhwc(1, 3, 3, 1), kCpu, s);
  Tensor y = Tensor::empty(Shape::nhwc(1, 2, 2, 1), DType::F64, kCpu);
  Tensor arg = Tensor::empty(Shape::nhwc(1, 2, 2, 1), DType::I32, kCpu);
  k::max_pool_forward(x, y, arg, p, s);
  CHECK(to_vector<double>(y, s) == std::vector<double>{1, 1, 1, 1});
  CHECK(to_vector<int32_t>(arg, s) == std::vector<int32_t>{4, 4, 4, 4});
  Tensor dy = make_tensor<double>({1, 2, 3, 4}, Shape::nhwc(1, 2, 2, 1), kCpu, s);
  Tensor dx = Tensor::empty(Shape::nhwc(1, 3, 3, 1), DType::F64, kCpu);
  k::max_pool_backward(dy, arg, dx, p, s);
  CHECK(to_vector<double>(dx, s) == std::vector<double>{0, 0, 0, 0, 10, 0, 0, 0, 0});
}

TEST_CASE("max pool output sizes follow floor((H + 2p - k) / s) + 1", "[kernels][pool]") {
  CHECK(k::max_pool_output_shape(Shape::nhwc(32, 112, 112, 64),
                                 k::MaxPoolParams::square(3, 2, 1)) == Shape::nhwc(32, 56, 56, 64));
  CHECK(k::max_pool_output_shape(Shape::nhwc(1, 7, 7, 3), k::MaxPoolParams::square(3, 2, 1)) ==
        Shape::nhwc(1, 4, 4, 3));
  CHECK(k::max_pool_output_shape(Shape::nhwc(2, 7, 5, 3), k::MaxPoolParams::square(2, 2, 0)) ==
        Shape::nhwc(2, 3, 2, 3));
  CHECK(k::max_pool_output_shape(Shape::nhwc(1, 8, 9, 1), {3, 2, 1, 3, 1, 1}) ==
        Shape::nhwc(1, 8, 4, 1));
}

TEST_CASE("the outputs covering an input are exactly the windows that contain it",
          "[kernels][pool]") {
  // The CUDA backward gathers over pool_outputs_covering; compare it with the window
  // definition for every input of a range of sizes and parameters.
  for (int kernel = 1; kernel <= 4; ++kernel)
    for (int stride = 1; stride <= 4; ++stride)
      for (int pad = 0; 2 * pad <= kernel; ++pad)
        for (int64_t size = std::max(1, kernel - 2 * pad); size <= 9; ++size) {
          const int64_t outputs = (size + 2 * pad - kernel) / stride + 1;
          for (int64_t i = 0; i < size; ++i) {
            int64_t last = 0;
            const int64_t first = k::pool_outputs_covering(i, stride, pad, kernel, outputs, &last);
            for (int64_t o = 0; o < outputs; ++o) {
              int64_t end = 0;
              const int64_t begin = k::pool_window_begin(o, stride, pad, kernel, size, &end);
              INFO("kernel " << kernel << " stride " << stride << " pad " << pad << " size " << size
                             << " input " << i << " output " << o);
              CHECK((begin <= i && i < end) == (first <= o && o <= last));
            }
          }
        }
}

TEST_CASE("max pool backward as a per-input gather equals the CPU scatter bit for bit",
          "[kernels][pool]") {
  // The algorithm of the CUDA backward, run on the host with the shared index math.
  const Stream& s = Stream::cpu();
  const Shape xs = Shape::nhwc(2, 9, 8, 3);
  for (const auto& p : {k::MaxPoolParams::square(3, 2, 1), k::MaxPoolParams::square(3, 1, 1),
                        k::MaxPoolParams{2, 3, 3, 1, 1, 0}}) {
    INFO(p.str());
    const Shape ys = k::max_pool_output_shape(xs, p);
    auto xv = random_floats(xs.numel(), 77, 0.f, 3.f);
    for (float& v : xv) v = std::floor(v);  // plenty of ties
    const auto gv = random_floats(ys.numel(), 78);
    Tensor x = make_tensor(xv, xs, kCpu, s), dy = make_tensor(gv, ys, kCpu, s);
    Tensor y = Tensor::empty(ys, DType::F32, kCpu), a = Tensor::empty(ys, DType::I32, kCpu);
    Tensor dx = Tensor::empty(xs, DType::F32, kCpu);
    k::max_pool_forward(x, y, a, p, s);
    k::max_pool_backward(dy, a, dx, p, s);
    const auto av = to_vector<int32_t>(a, s);
    std::vector<float> gathered(xs.numel());
    const int64_t H = xs[1], W = xs[2], C = xs[3], OH = ys[1], OW = ys[2];
    for (int64_t n = 0; n < xs[0]; ++n)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w)
          for (int64_t c = 0; c < C; ++c) {
            int64_t oh1 = 0, ow1 = 0;
            const int64_t oh0 =
                k::pool_outputs_covering(h, p.stride_h, p.pad_h, p.kernel_h, OH, &oh1);
            const int64_t ow0 =
                k::pool_outputs_covering(w, p.stride_w, p.pad_w, p.kernel_w, OW, &ow1);
            float acc = 0.f;
            for (int64_t oh = oh0; oh <= oh1; ++oh)
              for (int64_t ow = ow0; ow <= ow1; ++ow) {
                const int64_t o = ((n * OH + oh) * OW + ow) * C + c;
                if (av[o] == h * W + w) acc += gv[o];
              }
            gathered[((n * H + h) * W + w) * C + c] = acc;
          }
    CHECK(to_vector<float>(dx, s) == gathered);
  }
}

TEST_CASE("global average pool on hand-computed values", "[kernels][pool]") {
  const Stream& s = Stream::cpu();
  // One 2x2 sample with two channels, NHWC: channel 0 = {1,2,3,4} (mean 2.5),
  // channel 1 = {10,20,30,-4} (mean 14).
  Tensor x = make_tensor<float>({1, 10, 2, 20, 3, 30, 4, -4}, Shape::nhwc(1, 2, 2, 2), kCpu, s);
  Tensor y = Tensor::empty(Shape{1, 2}, DType::F32, kCpu);
  k::global_avg_pool_forward(x, y, s);
  CHECK(to_vector<float>(y, s) == std::vector<float>{2.5f, 14.f});
  // dx = dy / 4 at every position.
  Tensor dy = make_tensor<float>({4, -8}, Shape{1, 2}, kCpu, s);
  Tensor dx = Tensor::empty(Shape::nhwc(1, 2, 2, 2), DType::F32, kCpu);
  k::global_avg_pool_backward(dy, dx, s);
  CHECK(to_vector<float>(dx, s) == std::vector<float>{1, -2, 1, -2, 1, -2, 1, -2});
}

TEST_CASE("max pool gradient check in double precision", "[kernels][pool]") {
  const Stream& s = Stream::cpu();
  struct Case {
    Shape x;
    k::MaxPoolParams p;
  };
  const std::vector<Case> cases = {
      {Shape::nhwc(2, 5, 6, 3), k::MaxPoolParams::square(3, 2, 1)},
      {Shape::nhwc(1, 7, 7, 2), k::MaxPoolParams::square(3, 1, 1)},
      {Shape::nhwc(1, 6, 7, 3), k::MaxPoolParams::square(2, 2, 0)},
      {Shape::nhwc(1, 8, 8, 1), k::MaxPoolParams::square(2, 3, 1)},  // gaps between windows
      {Shape::nhwc(1, 6, 5, 2), {3, 1, 2, 1, 1, 0}},
  };
  uint64_t seed = 100;
  for (const Case& c : cases) {
    INFO("x " << c.x.str() << ", " << c.p.str());
    const Shape ys = k::max_pool_output_shape(c.x, c.p);
    const auto xv = random_doubles(c.x.numel(), ++seed);
    const auto w = random_doubles(ys.numel(), ++seed);  // f = sum_o w_o y_o, so dy = w
    Tensor y = Tensor::empty(ys, DType::F64, kCpu);
    Tensor arg = Tensor::empty(ys, DType::I32, kCpu);
    const auto f = [&](const std::vector<double>& v) {
      Tensor xt = make_tensor(v, c.x, kCpu, s);
      k::max_pool_forward(xt, y, arg, c.p, s);
      const auto yv = to_vector<double>(y, s);
      double sum = 0;
      for (size_t i = 0; i < yv.size(); ++i) sum += w[i] * yv[i];
      return sum;
    };
    f(xv);
    Tensor dy = make_tensor(w, ys, kCpu, s);
    Tensor dx = Tensor::empty(c.x, DType::F64, kCpu);
    k::max_pool_backward(dy, arg, dx, c.p, s);
    AUGUR_CHECK_GRADIENT(check_gradient(f, xv, to_vector<double>(dx, s)));
  }
}

TEST_CASE("global average pool gradient check in double precision", "[kernels][pool]") {
  const Stream& s = Stream::cpu();
  const Shape xs = Shape::nhwc(2, 3, 4, 5), ys{2, 5};
  const auto xv = random_doubles(xs.numel(), 7);
  const auto w = random_doubles(ys.numel(), 8);
  Tensor y = Tensor::empty(ys, DType::F64, kCpu);
  const auto f = [&](const std::vector<double>& v) {
    Tensor xt = make_tensor(v, xs, kCpu, s);
    k::global_avg_pool_forward(xt, y, s);
    const auto yv = to_vector<double>(y, s);
    double sum = 0;
    for (size_t i = 0; i < yv.size(); ++i) sum += w[i] * yv[i];
    return sum;
  };
  Tensor dy = make_tensor(w, ys, kCpu, s);
  Tensor dx = Tensor::empty(xs, DType::F64, kCpu);
  k::global_avg_pool_backward(dy, dx, s);
  AUGUR_CHECK_GRADIENT(check_gradient(f, xv, to_vector<double>(dx, s)));
}

TEST_CASE("global average pool in f32 matches f64 within the derived tolerance",
          "[kernels][pool]") {
  const Stream& s = Stream::cpu();
  const Shape xs = Shape::nhwc(3, 7, 7, 37), ys{3, 37};
  const auto xv = random_floats(xs.numel(), 21);
  Tensor x32 = make_tensor(xv, xs, kCpu, s);
  Tensor x64 = make_tensor(std::vector<double>(xv.begin(), xv.end()), xs, kCpu, s);
  Tensor y32 = Tensor::empty(ys, DType::F32, kCpu), y64 = Tensor::empty(ys, DType::F64, kCpu);
  k::global_avg_pool_forward(x32, y32, s);
  k::global_avg_pool_forward(x64, y64, s);
  // A sum of 49 terms of size <= 1, divided by 49.
  Tolerance tol = tolerance_for(DType::F32, 49, 1.0);
  tol.abs /= 49;
  AUGUR_CHECK_CLOSE(to_vector<float>(y32, s), to_vector<double>(y64, s), tol);
}

TEST_CASE("pooling rejects bad shapes, dtypes and parameters", "[kernels][pool]") {
  const Stream& s = Stream::cpu();
  const auto p = k::MaxPoolParams::square(3, 2, 1);
  Tensor x = Tensor::zeros(Shape::nhwc(1, 4, 4, 2), DType::F32, kCpu, s);
  Tensor y = Tensor::zeros(Shape::nhwc(1, 2, 2, 2), DType::F32, kCpu, s);
  Tensor arg = Tensor::zeros(Shape::nhwc(1, 2, 2, 2), DType::I32, kCpu, s);
  Tensor bad_y = Tensor::zeros(Shape::nhwc(1, 3, 3, 2), DType::F32, kCpu, s);
  Tensor arg64 = Tensor::zeros(Shape::nhwc(1, 2, 2, 2), DType::I64, kCpu, s);
  Tensor xi = Tensor::zeros(Shape::nhwc(1, 4, 4, 2), DType::I32, kCpu, s);
  CHECK_THROWS_WITH(k::max_pool_forward(x, bad_y, arg, p, s),
                    Catch::Contains("max_pool_forward") && Catch::Contains("[1, 3, 3, 2]") &&
                        Catch::Contains("expected [1, 2, 2, 2]"));
  CHECK_THROWS_WITH(k::max_pool_forward(x, y, arg64, p, s), Catch::Contains("argmax"));
  CHECK_THROWS_WITH(k::max_pool_forward(xi, y, arg, p, s),
                    Catch::Contains("unsupported dtype i32"));
  CHECK_THROWS_WITH(k::max_pool_forward(x, y, arg, k::MaxPoolParams::square(3, 2, 2), s),
                    Catch::Contains("exceeds half the kernel"));
  CHECK_THROWS_WITH(k::max_pool_forward(x, y, arg, k::MaxPoolParams::square(3, 0, 1), s),
                    Catch::Contains("invalid parameters"));
  CHECK_THROWS_WITH(
      k::max_pool_output_shape(Shape::nhwc(1, 2, 2, 1), k::MaxPoolParams::square(5, 1, 1)),
      Catch::Contains("larger than the padded input"));
  CHECK_THROWS_WITH(k::max_pool_backward(bad_y, arg, x, p, s),
                    Catch::Contains("max_pool_backward") && Catch::Contains("[1, 3, 3, 2]"));
  CHECK_THROWS_WITH(k::max_pool_output_shape(Shape{4, 4}, p), Catch::Contains("NHWC"));
  Tensor g = Tensor::zeros(Shape{1, 3}, DType::F32, kCpu, s);
  CHECK_THROWS_WITH(k::global_avg_pool_forward(x, g, s),
                    Catch::Contains("global_avg_pool_forward") && Catch::Contains("[1, 3]"));
  CHECK_THROWS_WITH(k::global_avg_pool_backward(g, x, s),
                    Catch::Contains("global_avg_pool_backward"));
  Tensor g64 = Tensor::zeros(Shape{1, 2}, DType::F64, kCpu, s);
  CHECK_THROWS_WITH(k::global_avg_pool_forward(x, g64, s), Catch::Contains("same dtype"));
}

// ---------------------------------------------------------------------------------------------
// GPU against the CPU reference.

namespace {

struct PoolCase {
  Shape x;
  k::MaxPoolParams p;
};

const std::vector<PoolCase>& gpu_pool_cases() {
  static const std::vector<PoolCase> cases = {
      {Shape::nhwc(1, 7, 7, 3), k::MaxPoolParams::square(3, 2, 1)},
      {Shape::nhwc(2, 56, 56, 64), k::MaxPoolParams::square(3, 2, 1)},
      {Shape::nhwc(3, 9, 10, 13), k::MaxPoolParams::square(3, 1, 1)},
      {Shape::nhwc(2, 8, 8, 5), k::MaxPoolParams::square(2, 2, 0)},
      {Shape::nhwc(1, 11, 9, 7), k::MaxPoolParams::square(2, 3, 1)},
      {Shape::nhwc(2, 6, 7, 9), {3, 1, 2, 1, 1, 0}},
  };
  return cases;
}

// `ties`: values from {0, 1, 2, 3}, so most windows hold several maxima.
std::vector<float> pool_input(int64_t n, uint64_t seed, bool ties) {
  auto v = random_floats(n, seed, ties ? 0.f : -4.f, 4.f);
  if (ties)
    for (float& x : v) x = std::floor(x);
  return v;
}

}  // namespace

TEST_CASE("gpu: max pool forward and backward match the CPU reference exactly",
          "[gpu][kernels][pool]") {
  AUGUR_REQUIRE_GPU();
  const Stream& cs = Stream::cpu();
  Stream gs = Stream::create(Device::cuda(0));
  const Device gpu = Device::cuda(0);
  uint64_t seed = 300;
  for (const PoolCase& c : gpu_pool_cases())
    for (bool ties : {false, true}) {
      INFO("x " << c.x.str() << ", " << c.p.str() << (ties ? ", many ties" : ""));
      const Shape ys = k::max_pool_output_shape(c.x, c.p);
      const auto xv = pool_input(c.x.numel(), ++seed, ties);
      const auto gv = random_floats(ys.numel(), ++seed);
      Tensor x = make_tensor(xv, c.x, kCpu, cs), xd = make_tensor(xv, c.x, gpu, gs);
      Tensor dy = make_tensor(gv, ys, kCpu, cs), dyd = make_tensor(gv, ys, gpu, gs);
      Tensor y = Tensor::empty(ys, DType::F32, kCpu), yd = Tensor::empty(ys, DType::F32, gpu, &gs);
      Tensor a = Tensor::empty(ys, DType::I32, kCpu), ad = Tensor::empty(ys, DType::I32, gpu, &gs);
      Tensor dx = Tensor::empty(c.x, DType::F32, kCpu);
      Tensor dxd = Tensor::empty(c.x, DType::F32, gpu, &gs);
      k::max_pool_forward(x, y, a, c.p, cs);
      k::max_pool_forward(xd, yd, ad, c.p, gs);
      CHECK(to_vector<float>(yd, gs) == to_vector<float>(y, cs));
      CHECK(to_vector<int32_t>(ad, gs) == to_vector<int32_t>(a, cs));
      // Same winners and the same summation order: bitwise equal.
      k::max_pool_backward(dy, a, dx, c.p, cs);
      k::max_pool_backward(dyd, ad, dxd, c.p, gs);
      CHECK(to_vector<float>(dxd, gs) == to_vector<float>(dx, cs));
    }
}

TEST_CASE("gpu: global average pool matches the CPU reference", "[gpu][kernels][pool]") {
  AUGUR_REQUIRE_GPU();
  const Stream& cs = Stream::cpu();
  Stream gs = Stream::create(Device::cuda(0));
  const Device gpu = Device::cuda(0);
  uint64_t seed = 400;
  for (const Shape& xs : {Shape::nhwc(1, 7, 7, 2048), Shape::nhwc(3, 7, 7, 13),
                          Shape::nhwc(2, 1, 1, 5), Shape::nhwc(2, 8, 8, 64)}) {
    INFO("x " << xs.str());
    const Shape ys{xs[0], xs[3]};
    const int64_t hw = xs[1] * xs[2];
    const auto xv = random_floats(xs.numel(), ++seed);
    const auto gv = random_floats(ys.numel(), ++seed);
    Tensor x = make_tensor(xv, xs, kCpu, cs), xd = make_tensor(xv, xs, gpu, gs);
    Tensor dy = make_tensor(gv, ys, kCpu, cs), dyd = make_tensor(gv, ys, gpu, gs);
    Tensor y = Tensor::empty(ys, DType::F32, kCpu), yd = Tensor::empty(ys, DType::F32, gpu, &gs);
    Tensor dx = Tensor::empty(xs, DType::F32, kCpu);
    Tensor dxd = Tensor::empty(xs, DType::F32, gpu, &gs);
    k::global_avg_pool_forward(x, y, cs);
    k::global_avg_pool_forward(xd, yd, gs);
    Tolerance tol = tolerance_for(DType::F32, hw, 1.0);  // |x| <= 1, then divided by hw
    tol.abs /= static_cast<double>(hw);
    AUGUR_CHECK_CLOSE(to_vector<float>(yd, gs), to_vector<float>(y, cs), tol);
    k::global_avg_pool_backward(dy, dx, cs);
    k::global_avg_pool_backward(dyd, dxd, gs);
    CHECK(to_vector<float>(dxd, gs) == to_vector<float>(dx, cs));  // one division each
  }
}
