#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "kernels/conv.h"
#include "kernels/gpu_math.h"
#include "tests/support/close.h"
#include "tests/support/gpu.h"
#include "tests/support/grad_check.h"
#include "tests/support/random.h"
#include "tests/support/tensors.h"

using namespace augur;
using namespace augur::test;
namespace k = augur::kernels;
using k::ConvParams;

namespace {

struct Case {
  int64_t n, h, w, c, k, r, s;
  ConvParams p;
};

Shape x_shape(const Case& t) {
  return Shape::nhwc(t.n, t.h, t.w, t.c);
}
Shape w_shape(const Case& t) {
  return Shape{t.k, t.r, t.s, t.c};
}
Shape y_shape(const Case& t) {
  return k::conv_output_shape(x_shape(t), w_shape(t), t.p);
}

std::string describe(const Case& t) {
  std::ostringstream os;
  os << "x " << x_shape(t).str() << " w " << w_shape(t).str() << " stride " << t.p.stride_h << "x"
     << t.p.stride_w << " pad " << t.p.pad_h << "x" << t.p.pad_w;
  return os.str();
}

// Direct definition of the convolution, in double: the independent reference.
std::vector<double> naive_forward(const Case& t, const std::vector<double>& x,
                                  const std::vector<double>& w) {
  const Shape ys = y_shape(t);
  std::vector<double> y(ys.numel(), 0.0);
  for (int64_t n = 0; n < t.n; ++n)
    for (int64_t p = 0; p < ys[1]; ++p)
      for (int64_t q = 0; q < ys[2]; ++q)
        for (int64_t o = 0; o < t.k; ++o) {
          double acc = 0;
          for (int64_t r = 0; r < t.r; ++r)
            for (int64_t s = 0; s < t.s; ++s) {
              const int64_t ih = p * t.p.stride_h - t.p.pad_h + r;
              const int64_t iw = q * t.p.stride_w - t.p.pad_w + s;
              if (ih < 0 || ih >= t.h || iw < 0 || iw >= t.w) continue;
              for (int64_t c = 0; c < t.c; ++c)
                acc += x[((n * t.h + ih) * t.w + iw) * t.c + c] *
                       w[((o * t.r + r) * t.s + s) * t.c + c];
            }
          y[((n * ys[1] + p) * ys[2] + q) * t.k + o] = acc;
        }
  return y;
}

// The adjoints of naive_forward, from the same loop nest.
void naive_backward(const Case& t, const std::vector<double>& x, const std::vector<double>& w,
                    const std::vector<double>& dy, std::vector<double>* dx,
                    std::vector<double>* dw) {
  const Shape ys = y_shape(t);
  dx->assign(x.size(), 0.0);
  dw->assign(w.size(), 0.0);
  for (int64_t n = 0; n < t.n; ++n)
    for (int64_t p = 0; p < ys[1]; ++p)
      for (int64_t q = 0; q < ys[2]; ++q)
        for (int64_t o = 0; o < t.k; ++o) {
          const double g = dy[((n * ys[1] + p) * ys[2] + q) * t.k + o];
          for (int64_t r = 0; r < t.r; ++r)
            for (int64_t s = 0; s < t.s; ++s) {
              const int64_t ih = p * t.p.stride_h - t.p.pad_h + r;
              const int64_t iw = q * t.p.stride_w - t.p.pad_w + s;
              if (ih < 0 || ih >= t.h || iw < 0 || iw >= t.w) continue;
              for (int64_t c = 0; c < t.c; ++c) {
                const int64_t xi = ((n * t.h + ih) * t.w + iw) * t.c + c;
                const int64_t wi = ((o * t.r + r) * t.s + s) * t.c + c;
                (*dx)[xi] += g * w[wi];
                (*dw)[wi] += g * x[xi];
              }
            }
        }
}

template <class T>
Tensor host(const std::vector<T>& v, Shape s) {
  return make_tensor(v, s, Device::cpu(), Stream::cpu());
}

template <class T>
std::vector<T> values(const TensorView& t) {
  return to_vector<T>(t, Stream::cpu());
}

std::vector<double> widen(const std::vector<float>& v) {
  return {v.begin(), v.end()};
}

template <class T>
std::vector<T> cpu_forward(const Case& t, const std::vector<T>& x, const std::vector<T>& w) {
  Tensor xt = host(x, x_shape(t)), wt = host(w, w_shape(t));
  Tensor y = Tensor::empty(y_shape(t), dtype_of<T>(), Device::cpu());
  k::conv_forward(xt, wt, y, t.p, Stream::cpu());
  return values<T>(y);
}

template <class T>
std::vector<T> cpu_backward_data(const Case& t, const std::vector<T>& dy, const std::vector<T>& w) {
  Tensor dyt = host(dy, y_shape(t)), wt = host(w, w_shape(t));
  // Filled with garbage: backward_data must overwrite every element.
  Tensor dx = host(std::vector<T>(x_shape(t).numel(), T(1e3)), x_shape(t));
  k::conv_backward_data(dyt, wt, dx, t.p, Stream::cpu());
  return values<T>(dx);
}

template <class T>
std::vector<T> cpu_backward_filter(const Case& t, const std::vector<T>& x,
                                   const std::vector<T>& dy) {
  Tensor xt = host(x, x_shape(t)), dyt = host(dy, y_shape(t));
  Tensor dw = Tensor::zeros(w_shape(t), dtype_of<T>(), Device::cpu(), Stream::cpu());
  k::conv_backward_filter(xt, dyt, dw, t.p, Stream::cpu());
  return values<T>(dw);
}

ConvParams params(int stride, int pad) {
  return {stride, stride, pad, pad};
}

// Shapes for the gradient checks: padding, strides, 1x1 (the im2col-free path), a 7x7
// kernel, a non-square kernel with unequal strides and padding; then images so small that
// some kernel taps only ever see padding (the CPU code drops those taps): a 3x3 pad-1 conv
// on a 1x1 image, a strided one on 2x2, a 5x5 kernel on 3x3, and a conv whose every output
// sits in the padding.
const std::vector<Case> kGradCases = {
    {2, 5, 6, 3, 4, 3, 3, params(1, 1)}, {1, 7, 7, 2, 3, 3, 3, params(2, 1)},
    {2, 4, 3, 5, 3, 1, 1, params(1, 0)}, {2, 5, 5, 3, 2, 1, 1, params(2, 0)},
    {1, 9, 8, 2, 3, 7, 7, params(2, 3)}, {1, 6, 5, 2, 3, 3, 2, ConvParams{2, 1, 0, 1}},
    {2, 1, 1, 6, 5, 3, 3, params(1, 1)}, {2, 2, 2, 4, 3, 3, 3, params(2, 1)},
    {1, 3, 3, 2, 2, 5, 5, params(1, 1)}, {1, 1, 1, 2, 3, 1, 1, params(2, 1)},
};

// Shapes with at least 2048 output pixels, so that on up to 16 threads the CPU code takes
// its tiled, parallel paths (banded backward data, per-thread partial filter gradients);
// the small cases above take the split-inside-GEMM paths.
const std::vector<Case> kLargeCases = {
    {8, 16, 16, 5, 7, 3, 3, params(1, 1)}, {8, 32, 32, 3, 8, 7, 7, params(2, 3)},
    {8, 32, 32, 6, 4, 1, 1, params(2, 0)}, {8, 16, 16, 9, 5, 1, 1, params(1, 0)},
    {8, 32, 32, 4, 6, 3, 3, params(2, 1)}, {2, 40, 30, 3, 4, 5, 3, ConvParams{1, 1, 2, 0}},
};

}  // namespace

TEST_CASE("conv forward and backward on hand-computed values", "[kernels]") {
  // x = 1..16 on a 4x4 single-channel image, w = [[1,0,-1],[2,1,0],[0,-1,1]] (sum 3).
  const std::vector<double> x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  const std::vector<double> w = {1, 0, -1, 2, 1, 0, 0, -1, 1};
  const Case valid{1, 4, 4, 1, 1, 3, 3, params(1, 0)};
  // y[0,0] = (1 - 3) + (10 + 6) + (-10 + 11) = 15; moving one column right adds sum(w) = 3,
  // one row down adds 4 * 3 = 12.
  CHECK(cpu_forward(valid, x, w) == std::vector<double>{15, 18, 27, 30});

  // Stride 2, padding 1: output 2x2, windows centred on (0,0), (0,2), (2,0), (2,2).
  // y[0,0] = (1*1) + (-5 + 6) = 2;      y[0,1] = (2*2 + 3) + (-7 + 8) = 8;
  // y[1,0] = (-6) + (9) + (-13 + 14) = 4; y[1,1] = (6 - 8) + (20 + 11) + (-15 + 16) = 30.
  const Case strided{1, 4, 4, 1, 1, 3, 3, params(2, 1)};
  CHECK(cpu_forward(strided, x, w) == std::vector<double>{2, 8, 4, 30});

  // dy = 1: dx[h,w] sums w[h-p, w-q] over the four outputs (p, q) that see (h, w).
  CHECK(cpu_backward_data(valid, std::vector<double>(4, 1.0), w) ==
        std::vector<double>{1, 1, -1, -1, 3, 4, 0, -1, 2, 2, 1, 1, 0, -1, 0, 1});
  // dy = 1: dw[r,s] = x[r,s] + x[r,s+1] + x[r+1,s] + x[r+1,s+1] = 16 r + 4 s + 14.
  CHECK(cpu_backward_filter(valid, x, std::vector<double>(4, 1.0)) ==
        std::vector<double>{14, 18, 22, 30, 34, 38, 46, 50, 54});

  // Channel order of KRSC filters: x pixel (1, 2), w = [[3, 4], [5, 6]] -> y = (11, 17).
  const Case mix{1, 1, 1, 2, 2, 1, 1, params(1, 0)};
  CHECK(cpu_forward(mix, std::vector<float>{1, 2}, std::vector<float>{3, 4, 5, 6}) ==
        std::vector<float>{11, 17});
}

TEST_CASE("conv output shape follows the padding and stride arithmetic", "[kernels]") {
  CHECK(k::conv_output_shape(Shape{2, 32, 32, 3}, Shape{64, 7, 7, 3}, params(2, 3)) ==
        Shape{2, 16, 16, 64});
  CHECK(k::conv_output_shape(Shape{1, 7, 7, 8}, Shape{4, 1, 1, 8}, params(2, 0)) ==
        Shape{1, 4, 4, 4});
  CHECK(k::conv_output_shape(Shape{1, 5, 6, 1}, Shape{1, 3, 2, 1}, ConvParams{2, 1, 0, 1}) ==
        Shape{1, 2, 7, 1});
}

TEST_CASE("conv gradients pass central-difference checks in double precision", "[kernels]") {
  for (size_t i = 0; i < kGradCases.size(); ++i) {
    const Case& t = kGradCases[i];
    INFO(describe(t));
    const auto x = random_doubles(x_shape(t).numel(), 100 + i);
    const auto w = random_doubles(w_shape(t).numel(), 200 + i);
    const auto r = random_doubles(y_shape(t).numel(), 300 + i);
    auto loss = [&](const std::vector<double>& xv, const std::vector<double>& wv) {
      const auto y = cpu_forward(t, xv, wv);
      double f = 0;
      for (size_t j = 0; j < y.size(); ++j) f += y[j] * r[j];
      return f;
    };
    GradCheckOptions opt;
    opt.max_coordinates = 60;
    AUGUR_CHECK_GRADIENT(check_gradient([&](const std::vector<double>& v) { return loss(v, w); }, x,
                                        cpu_backward_data(t, r, w), opt));
    AUGUR_CHECK_GRADIENT(check_gradient([&](const std::vector<double>& v) { return loss(x, v); }, w,
                                        cpu_backward_filter(t, x, r), opt));
  }
}

TEST_CASE("conv CPU paths match the direct definition in f64, and f32 agrees with f64",
          "[kernels]") {
  std::vector<Case> cases = kGradCases;
  cases.insert(cases.end(), kLargeCases.begin(), kLargeCases.end());
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& t = cases[i];
    INFO(describe(t));
    const auto xf = random_floats(x_shape(t).numel(), 400 + i);
    const auto wf = random_floats(w_shape(t).numel(), 500 + i);
    const auto gf = random_floats(y_shape(t).numel(), 600 + i);
    const auto x = widen(xf), w = widen(wf), g = widen(gf);
    const auto y = naive_forward(t, x, w);
    std::vector<double> dx, dw;
    naive_backward(t, x, w, g, &dx, &dw);
    // Terms are products of values in [-1, 1]. Reductions: forward R*S*C; backward data
    // at most K*R*S; backward filter N*P*Q.
    const int64_t fwd = t.r * t.s * t.c, bwd_data = t.k * t.r * t.s;
    const int64_t bwd_filter = y_shape(t).numel() / t.k;
    const auto y64 = cpu_forward(t, x, w);
    const auto dx64 = cpu_backward_data(t, g, w);
    const auto dw64 = cpu_backward_filter(t, x, g);
    AUGUR_CHECK_CLOSE(y64, y, tolerance_for(DType::F64, fwd));
    AUGUR_CHECK_CLOSE(dx64, dx, tolerance_for(DType::F64, bwd_data));
    AUGUR_CHECK_CLOSE(dw64, dw, tolerance_for(DType::F64, bwd_filter));
    // The f32 path against the f64 path on the same (f32-representable) inputs.
    AUGUR_CHECK_CLOSE(cpu_forward(t, xf, wf), y64, tolerance_for(DType::F32, fwd));
    AUGUR_CHECK_CLOSE(cpu_backward_data(t, gf, wf), dx64, tolerance_for(DType::F32, bwd_data));
    AUGUR_CHECK_CLOSE(cpu_backward_filter(t, xf, gf), dw64, tolerance_for(DType::F32, bwd_filter));
  }
}

// Narrow layers (16-64 output channels, kernels wider than 1x1) that take the direct AVX-512
// kernels in f32 where the CPU has them: every block width of the register blocking (1, 2, 3
// and 4 registers of output channels), output rows split into blocks of unequal sizes (28,
// 25, 7 and 5 pixels wide), strides 1 and 2 (whose backward data stays on the GEMM path),
// one input channel (the stem), non-square kernels and padding that differs per axis, a
// kernel larger than the image, and the 16-channel 3-wide kernel's own path (stem, first
// group, 25- and 30-pixel rows, a stride along rows only).
const std::vector<Case> kDirectCases = {
    {4, 28, 28, 1, 16, 3, 3, params(1, 1)},
    {2, 28, 28, 16, 16, 3, 3, params(1, 1)},
    {3, 25, 25, 16, 32, 3, 3, params(1, 1)},
    {2, 14, 14, 32, 48, 3, 3, params(2, 1)},
    {2, 7, 7, 64, 64, 3, 3, params(1, 1)},
    {2, 9, 10, 48, 32, 5, 3, ConvParams{1, 2, 2, 0}},
    {3, 5, 5, 16, 64, 3, 3, params(1, 1)},
    {1, 3, 4, 32, 16, 7, 5, ConvParams{1, 1, 3, 2}},
    {2, 11, 30, 16, 16, 3, 3, ConvParams{2, 1, 1, 1}},
};

TEST_CASE("conv direct kernels for narrow layers agree with f64 and with the GEMM path",
          "[kernels]") {
  INFO("direct kernels active on this CPU: " << k::cpu_direct_conv_active());
  for (size_t i = 0; i < kDirectCases.size(); ++i) {
    const Case& t = kDirectCases[i];
    INFO(describe(t));
    const auto xf = random_floats(x_shape(t).numel(), 700 + i);
    const auto wf = random_floats(w_shape(t).numel(), 800 + i);
    const auto gf = random_floats(y_shape(t).numel(), 900 + i);
    const auto x = widen(xf), w = widen(wf), g = widen(gf);
    const auto y = naive_forward(t, x, w);
    std::vector<double> dx, dw;
    naive_backward(t, x, w, g, &dx, &dw);
    const int64_t fwd = t.r * t.s * t.c, bwd_data = t.k * t.r * t.s;
    const int64_t bwd_filter = y_shape(t).numel() / t.k;
    for (bool direct : {true, false}) {
      INFO("direct kernels " << (direct ? "on" : "off"));
      k::set_cpu_direct_conv(direct);
      const auto yf = cpu_forward(t, xf, wf);
      const auto dxf = cpu_backward_data(t, gf, wf);
      const auto dwf = cpu_backward_filter(t, xf, gf);
      k::set_cpu_direct_conv(true);
      AUGUR_CHECK_CLOSE(widen(yf), y, tolerance_for(DType::F32, fwd));
      AUGUR_CHECK_CLOSE(widen(dxf), dx, tolerance_for(DType::F32, bwd_data));
      AUGUR_CHECK_CLOSE(widen(dwf), dw, tolerance_for(DType::F32, bwd_filter));
    }
    // backward_filter adds into dw: from dw = 1 everywhere the result is 1 + the gradient.
    Tensor xt = host(xf, x_shape(t)), gt = host(gf, y_shape(t));
    Tensor acc = host(std::vector<float>(size_t(w_shape(t).numel()), 1.f), w_shape(t));
    k::conv_backward_filter(xt, gt, acc, t.p, Stream::cpu());
    std::vector<double> shifted(dw.size());
    for (size_t j = 0; j < dw.size(); ++j) shifted[j] = 1 + dw[j];
    AUGUR_CHECK_CLOSE(widen(values<float>(acc)), shifted,
                      tolerance_for(DType::F32, bwd_filter + 1));
  }
}

TEST_CASE("conv backward_filter accumulates and backward_data overwrites", "[kernels]") {
  for (const Case& t : {kGradCases[0], kLargeCases[0], kLargeCases[3]}) {
    INFO(describe(t));
    const auto x = random_doubles(x_shape(t).numel(), 7);
    const auto w = random_doubles(w_shape(t).numel(), 8);
    const auto g = random_doubles(y_shape(t).numel(), 9);
    const auto once = cpu_backward_filter(t, x, g);
    Tensor xt = host(x, x_shape(t)), gt = host(g, y_shape(t)), wt = host(w, w_shape(t));
    Tensor dw = Tensor::zeros(w_shape(t), DType::F64, Device::cpu(), Stream::cpu());
    k::conv_backward_filter(xt, gt, dw, t.p, Stream::cpu());
    k::conv_backward_filter(xt, gt, dw, t.p, Stream::cpu());
    std::vector<double> twice_expected(once.size());
    for (size_t i = 0; i < once.size(); ++i) twice_expected[i] = 2 * once[i];
    AUGUR_CHECK_CLOSE(values<double>(dw), twice_expected,
                      tolerance_for(DType::F64, 2 * y_shape(t).numel() / t.k));
    Tensor dx = Tensor::zeros(x_shape(t), DType::F64, Device::cpu(), Stream::cpu());
    k::conv_backward_data(gt, wt, dx, t.p, Stream::cpu());
    const auto first = values<double>(dx);
    k::conv_backward_data(gt, wt, dx, t.p, Stream::cpu());
    CHECK(values<double>(dx) == first);
  }
}

TEST_CASE("conv rejects bad arguments naming the op and shapes", "[kernels]") {
  const Stream& s = Stream::cpu();
  auto zeros = [&](Shape shape, DType dt = DType::F32) {
    return Tensor::zeros(shape, dt, Device::cpu(), s);
  };
  Tensor x = zeros(Shape{1, 4, 4, 3}), w = zeros(Shape{2, 3, 3, 3}), y = zeros(Shape{1, 2, 2, 2});
  Tensor w4 = zeros(Shape{2, 3, 3, 4});
  CHECK_THROWS_WITH(k::conv_forward(x, w4, y, {}, s),
                    Catch::Contains("conv_forward") && Catch::Contains("[1, 4, 4, 3]") &&
                        Catch::Contains("[2, 3, 3, 4]") && Catch::Contains("channels"));
  Tensor x3 = zeros(Shape{4, 4, 3});
  CHECK_THROWS_WITH(k::conv_forward(x3, w, y, {}, s),
                    Catch::Contains("conv_forward") && Catch::Contains("rank 4"));
  Tensor xi = zeros(Shape{1, 4, 4, 3}, DType::I64);
  CHECK_THROWS_WITH(k::conv_forward(xi, w, y, {}, s),
                    Catch::Contains("conv_forward") && Catch::Contains("unsupported dtype i64"));
  Tensor xd = zeros(Shape{1, 4, 4, 3}, DType::F64);
  CHECK_THROWS_WITH(k::conv_forward(xd, w, y, {}, s), Catch::Contains("dtypes differ"));
  Tensor y5 = zeros(Shape{1, 2, 2, 5});
  CHECK_THROWS_WITH(k::conv_forward(x, w, y5, {}, s),
                    Catch::Contains("conv_forward") && Catch::Contains("[1, 2, 2, 5]") &&
                        Catch::Contains("should have shape [1, 2, 2, 2]"));
  CHECK_THROWS_WITH(k::conv_backward_data(y5, w, x, {}, s),
                    Catch::Contains("conv_backward_data") && Catch::Contains("dy"));
  Tensor dw = zeros(Shape{2, 3, 3, 4});
  CHECK_THROWS_WITH(k::conv_backward_filter(x, y, dw, {}, s),
                    Catch::Contains("conv_backward_filter") && Catch::Contains("[2, 3, 3, 4]"));
  CHECK_THROWS_WITH(k::conv_output_shape(Shape{1, 2, 2, 3}, Shape{2, 3, 3, 3}, {}),
                    Catch::Contains("do not fit") && Catch::Contains("[1, 2, 2, 3]"));
  CHECK_THROWS_WITH(k::conv_output_shape(Shape{1, 4, 4, 3}, Shape{2, 3, 3, 3}, params(0, 0)),
                    Catch::Contains("strides"));
}

TEST_CASE("conv on an empty batch does nothing", "[kernels]") {
  const Stream& s = Stream::cpu();
  Tensor x = Tensor::zeros(Shape{0, 4, 4, 3}, DType::F32, Device::cpu(), s);
  Tensor w = host(std::vector<float>(2 * 9 * 3, 1.f), Shape{2, 3, 3, 3});
  Tensor y = Tensor::zeros(Shape{0, 2, 2, 2}, DType::F32, Device::cpu(), s);
  Tensor dw = Tensor::zeros(Shape{2, 3, 3, 3}, DType::F32, Device::cpu(), s);
  k::conv_forward(x, w, y, {}, s);
  k::conv_backward_data(y, w, x, {}, s);
  k::conv_backward_filter(x, y, dw, {}, s);
  CHECK(values<float>(dw) == std::vector<float>(2 * 9 * 3, 0.f));
}

namespace {

// cuDNN against the CPU reference for one case: forward, backward data into a dx holding
// garbage (must be overwritten), backward filter into a dw holding w (must accumulate).
// `roundoff_dtype`: F32 for FMA math; F16 (the same 10-bit mantissa as TF32) when TF32 is on.
void check_cudnn_case(const Case& t, uint64_t seed, DType roundoff_dtype) {
  INFO(describe(t));
  const Stream& cs = Stream::cpu();
  Stream gs = Stream::create(Device::cuda(0));
  const auto xv = random_floats(x_shape(t).numel(), seed);
  const auto wv = random_floats(w_shape(t).numel(), seed + 1);
  const auto gv = random_floats(y_shape(t).numel(), seed + 2);
  const Device gpu = Device::cuda(0);
  Tensor x = make_tensor(xv, x_shape(t), gpu, gs), w = make_tensor(wv, w_shape(t), gpu, gs);
  Tensor g = make_tensor(gv, y_shape(t), gpu, gs);
  Tensor y = Tensor::empty(y_shape(t), DType::F32, gpu, &gs);
  Tensor dx = make_tensor(std::vector<float>(xv.size(), 1e3f), x_shape(t), gpu, gs);
  Tensor dw = make_tensor(wv, w_shape(t), gpu, gs);
  k::conv_forward(x, w, y, t.p, gs);
  k::conv_backward_data(g, w, dx, t.p, gs);
  k::conv_backward_filter(x, g, dw, t.p, gs);
  const auto y_ref = cpu_forward(t, xv, wv);
  const auto dx_ref = cpu_backward_data(t, gv, wv);
  auto dw_ref = cpu_backward_filter(t, xv, gv);
  for (size_t i = 0; i < dw_ref.size(); ++i) dw_ref[i] += wv[i];
  const int64_t fwd = t.r * t.s * t.c, bwd_data = t.k * t.r * t.s;
  const int64_t bwd_filter = y_shape(t).numel() / t.k + 1;  // + the accumulated w
  AUGUR_CHECK_CLOSE(to_vector<float>(y, gs), y_ref, tolerance_for(roundoff_dtype, fwd));
  AUGUR_CHECK_CLOSE(to_vector<float>(dx, gs), dx_ref, tolerance_for(roundoff_dtype, bwd_data));
  AUGUR_CHECK_CLOSE(to_vector<float>(dw, gs), dw_ref, tolerance_for(roundoff_dtype, bwd_filter));
  (void)cs;
}

// Odd shapes for cuDNN: batch 1, channels that are not multiples of 8, 7x7 images, strides,
// the ResNet stem (7x7, stride 2, pad 3), 1x1 with stride 2, and a ResNet bottleneck 3x3.
const std::vector<Case> kGpuCases = {
    {1, 7, 7, 3, 5, 3, 3, params(1, 1)},           {2, 7, 7, 5, 3, 3, 3, params(2, 1)},
    {2, 32, 32, 3, 64, 7, 7, params(2, 3)},        {3, 14, 14, 24, 40, 1, 1, params(2, 0)},
    {2, 9, 11, 16, 8, 1, 1, params(1, 0)},         {4, 8, 8, 64, 64, 3, 3, params(1, 1)},
    {1, 6, 5, 2, 3, 3, 2, ConvParams{2, 1, 0, 1}}, {4, 1, 1, 32, 16, 3, 3, params(1, 1)},
    {4, 2, 2, 16, 8, 3, 3, params(2, 1)},
};

}  // namespace

TEST_CASE("gpu: cuDNN convolutions match the CPU reference", "[gpu][kernels]") {
  AUGUR_REQUIRE_GPU();
  for (size_t i = 0; i < kGpuCases.size(); ++i) check_cudnn_case(kGpuCases[i], 40 + i, DType::F32);
  // Second pass: the cached algorithms.
  for (size_t i = 0; i < kGpuCases.size(); ++i) check_cudnn_case(kGpuCases[i], 80 + i, DType::F32);
}

TEST_CASE("gpu: cuDNN convolutions with benchmarked algorithms match the CPU reference",
          "[gpu][kernels]") {
  AUGUR_REQUIRE_GPU();
  k::set_conv_algo_search(k::ConvAlgoSearch::Benchmark);
  for (size_t i = 0; i < kGpuCases.size(); ++i) check_cudnn_case(kGpuCases[i], 120 + i, DType::F32);
  k::set_conv_algo_search(k::ConvAlgoSearch::Heuristic);
}

TEST_CASE("gpu: cuDNN convolutions with TF32 allowed stay within TF32 rounding", "[gpu][kernels]") {
  AUGUR_REQUIRE_GPU();
  k::set_gpu_allow_tf32(true);
  for (size_t i = 0; i < kGpuCases.size(); ++i) check_cudnn_case(kGpuCases[i], 160 + i, DType::F16);
  k::set_gpu_allow_tf32(false);
}

TEST_CASE("gpu: cuDNN convolutions reject bad arguments", "[gpu][kernels]") {
  AUGUR_REQUIRE_GPU();
  Stream gs = Stream::create(Device::cuda(0));
  const Device gpu = Device::cuda(0);
  Tensor x = Tensor::zeros(Shape{1, 4, 4, 3}, DType::F32, gpu, gs);
  Tensor w = Tensor::zeros(Shape{2, 3, 3, 4}, DType::F32, gpu, gs);
  Tensor y = Tensor::zeros(Shape{1, 2, 2, 2}, DType::F32, gpu, gs);
  CHECK_THROWS_WITH(k::conv_forward(x, w, y, {}, gs),
                    Catch::Contains("conv_forward") && Catch::Contains("channels"));
  Tensor xd = Tensor::zeros(Shape{1, 4, 4, 4}, DType::F64, gpu, gs);
  CHECK_THROWS_WITH(k::conv_forward(xd, w, y, {}, gs), Catch::Contains("expected f32"));
}
