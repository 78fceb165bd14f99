// The CPU's bf16 mode (kernels/bf16_emulation.h): every kernel family accepts bf16
// activations, stores exactly the f32 kernel's result rounded to nearest even, keeps its f32
// outputs (statistics, losses, parameter gradients) bit-identical to the f32 kernel's, and
// lands within bounds derived from bf16's 8-bit significand of the f64 reference.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/accuracy.h"
#include "kernels/batchnorm.h"
#include "kernels/conv.h"
#include "kernels/convert.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/pool.h"
#include "kernels/softmax_xent.h"
#include "tests/support/gpu.h"
#include "tests/support/random.h"
#include "tests/support/tensors.h"

using namespace augur;
using namespace augur::test;
namespace k = augur::kernels;

namespace {

const Stream& cpu_stream() {
  static const Stream s = Stream::cpu();
  return s;
}

// Where the family checks below run: the CPU (its emulation of bf16) or a GPU (its bf16
// kernels). The f64 references always run on the CPU.
struct Target {
  Device device = Device::cpu();
  const Stream* stream = nullptr;
};
Target& target() {
  static Target t;
  return t;
}
const Stream& ts() {
  return target().stream ? *target().stream : cpu_stream();
}
bool on_gpu() {
  return target().device.is_cuda();
}

// Runs the checks on GPU 0 for its scope.
class OnGpu {
 public:
  OnGpu() : stream_(Stream::create(Device::cuda(0))) { target() = {Device::cuda(0), &stream_}; }
  ~OnGpu() { target() = Target{}; }
  OnGpu(const OnGpu&) = delete;
  OnGpu& operator=(const OnGpu&) = delete;

 private:
  Stream stream_;
};

// Unit roundoffs: bf16 keeps 8 significant bits, f32 24.
constexpr double kBf16U = 0x1p-8, kF32U = 0x1p-24;

// Random values representable in bf16, so that both precisions start from the same inputs.
std::vector<float> bf16_values(int64_t n, uint64_t seed, float lo = -1.f, float hi = 1.f) {
  std::vector<float> v = random_floats(size_t(n), seed, lo, hi);
  for (float& x : v) x = bf16_to_float(float_to_bf16(x));
  return v;
}

// The same values twice: an f32 tensor for the f32 kernel, and one of `dtype` (bf16 for
// activations, f32 for what a bf16 call keeps in f32) for the bf16 call.
struct Twin {
  Tensor f, b;
};

Twin twin(const std::vector<float>& v, Shape s, DType dtype = DType::BF16) {
  Twin t{make_tensor(v, s, target().device, ts()), Tensor::empty(s, dtype, target().device, &ts())};
  k::convert(t.f, t.b, ts());
  return t;
}

Twin random_twin(Shape s, uint64_t seed, DType dtype = DType::BF16, float lo = -1.f,
                 float hi = 1.f) {
  return twin(bf16_values(s.numel(), seed, lo, hi), s, dtype);
}

// The bf16 call's output is the f32 call's rounded to nearest even (bf16), or equal (f32).
void require_matches(const Twin& t, const char* what) {
  INFO(what);
  const std::vector<float> f = to_vector<float>(t.f, ts());
  if (t.b.dtype() == DType::F32) {
    const std::vector<float> b = to_vector<float>(t.b, ts());
    REQUIRE(std::memcmp(f.data(), b.data(), f.size() * sizeof(float)) == 0);
    return;
  }
  const std::vector<bf16> b = to_vector<bf16>(t.b, ts());
  int64_t mismatches = 0;
  for (size_t i = 0; i < f.size(); ++i) mismatches += float_to_bf16(f[i]).bits != b[i].bits;
  REQUIRE(mismatches == 0);
}

// Makes the f32 twin hold the bf16 twin's values again, before an op reads an output.
void resync(const Twin& t) {
  if (t.b.dtype() == DType::BF16) k::convert(t.b, t.f, ts());
}

std::vector<double> as_f64(const TensorView& t) {
  const Stream& s = t.device().is_cpu() ? cpu_stream() : ts();
  if (t.dtype() == DType::F32) {
    const std::vector<float> v = to_vector<float>(t, s);
    return std::vector<double>(v.begin(), v.end());
  }
  const std::vector<bf16> v = to_vector<bf16>(t, s);
  std::vector<double> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = bf16_to_float(v[i]);
  return out;
}

Tensor f64_of(const TensorView& t, bool absolute = false) {
  std::vector<double> v = as_f64(t);
  if (absolute)
    for (double& x : v) x = std::abs(x);
  return make_tensor(v, t.shape(), Device::cpu(), cpu_stream());
}

// On the target; f64 (the references) on the CPU.
Tensor zeros(Shape s, DType d) {
  if (d == DType::F64) return Tensor::zeros(s, d, Device::cpu(), cpu_stream());
  return Tensor::zeros(s, d, target().device, ts());
}

// gamma_K = K u / (1 - K u): the worst-case relative error of a K-term sum in f32.
double gamma_f32(int64_t terms) {
  return double(terms) * kF32U / (1 - double(terms) * kF32U);
}

// The error bound, relative to the sum of |terms|, of a K-term sum as the target forms it.
// The CPU (whose bf16 mode widens and runs the f32 kernels) rounds each f32 addition to
// nearest: gamma_K. A GPU's bf16 convolutions and GEMMs run on tensor cores, whose products of
// bf16 values are exact but whose accumulation is not IEEE arithmetic: each group of products
// is aligned to its largest exponent and truncated to the accumulator's 24-bit significand,
// and the group's sum is truncated as well (Fasi et al., "Numerical behavior of NVIDIA tensor
// cores", PeerJ Computer Science 2021, for V100 to A100; Khattak and Mikaitis, "Accurate
// models of NVIDIA tensor cores", 2025, for H100). Each of the K terms and each group sum (at
// most K of them) then loses under one unit in the 24th bit of a magnitude no larger than the
// sum of |terms|, whatever the group size: (2K + 1) 2^-23, the +1 for the f32 accumulator or
// bias it adds to. Reductions of partial sums (split-K) round in f32, within the same count.
double sum_error(int64_t terms) {
  if (on_gpu()) return double(2 * terms + 1) * 2 * kF32U;
  return gamma_f32(terms);
}

// |got - exact| <= u_bf16 |rounded| + (1 + u_bf16) sum_error(K) magnitude, elementwise, where
// magnitude is the same sum over the absolute values of the terms: the sum's error bound,
// then one rounding to bf16 of `rounded`, the exact value of what the target rounded (the
// output itself when it is bf16; nothing for an f32 output). `rounded_increment`: an f32
// output that accumulated a bf16-rounded increment (cuDNN's bf16 filter gradient, added to
// the f32 arena), whose exact value it is.
void require_within_sum_bound(const TensorView& got, const TensorView& exact,
                              const TensorView& magnitude, int64_t terms, const char* what,
                              const TensorView* rounded_increment = nullptr) {
  INFO(what << " (" << terms << " terms per sum)");
  const std::vector<double> g = as_f64(got);
  const std::vector<double> e = to_vector<double>(exact, cpu_stream());
  const std::vector<double> m = to_vector<double>(magnitude, cpu_stream());
  std::vector<double> r;
  if (got.dtype() == DType::BF16) r = e;
  if (rounded_increment) r = to_vector<double>(*rounded_increment, cpu_stream());
  const double err = sum_error(terms);
  int64_t outside = 0, rounding_seen = 0;
  double worst = 0;  // the largest |got - exact| / bound, for the report
  for (size_t i = 0; i < g.size(); ++i) {
    const double bound = (r.empty() ? 0.0 : kBf16U * std::abs(r[i])) + (1 + kBf16U) * err * m[i];
    outside += std::abs(g[i] - e[i]) > bound;
    worst = std::max(worst, std::abs(g[i] - e[i]) / bound);
    // bf16 outputs are visibly rounded: most errors exceed what any f32 sum could make.
    rounding_seen += std::abs(g[i] - e[i]) > err * m[i];
  }
  INFO(outside << " of " << g.size() << " outside; worst error " << worst << " of its bound");
  CHECK(outside == 0);
  if (got.dtype() == DType::BF16) CHECK(rounding_seen > int64_t(g.size()) / 4);
}

}  // namespace

TEST_CASE("convert rounds f32 to bf16 to nearest even and widens exactly", "[kernels][bf16]") {
  const float inf = std::numeric_limits<float>::infinity();
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7 (ties to the even 1); 1 + 3 2^-8 halfway
  // between 1 + 2^-7 and 1 + 2^-6 (ties to the even 1 + 2^-6); just above a tie rounds up.
  const std::vector<float> in = {1.f + 0x1p-8f,
                                 1.f + 3 * 0x1p-8f,
                                 1.f + 0x1p-8f + 0x1p-20f,
                                 -2.5f,
                                 0.f,
                                 -0.f,
                                 inf,
                                 -inf,
                                 std::numeric_limits<float>::max(),
                                 std::nanf("")};
  const std::vector<float> expect = {1.f,  1.f + 0x1p-6f, 1.f + 0x1p-7f, -2.5f, 0.f,
                                     -0.f, inf,           -inf,          inf,   std::nanf("")};
  const Tensor f = make_tensor(in, Shape{int64_t(in.size())}, Device::cpu(), cpu_stream());
  const Tensor b = Tensor::empty(f.shape(), DType::BF16, Device::cpu());
  const Tensor back = Tensor::empty(f.shape(), DType::F32, Device::cpu());
  k::convert(f, b, cpu_stream());
  k::convert(b, back, cpu_stream());
  const std::vector<float> got = to_vector<float>(back, cpu_stream());
  for (size_t i = 0; i < in.size(); ++i) {
    INFO("element " << i << ": " << in[i]);
    if (std::isnan(expect[i])) {
      CHECK(std::isnan(got[i]));
      CHECK(to_vector<bf16>(b, cpu_stream())[i].bits == 0x7fff);  // CUDA's canonical NaN
    } else {
      CHECK(std::memcmp(&got[i], &expect[i], sizeof(float)) == 0);
    }
  }
  // f32 <-> f64 too; other pairs and shape mismatches are refused by name.
  const Tensor d = Tensor::empty(f.shape(), DType::F64, Device::cpu());
  k::convert(f, d, cpu_stream());
  CHECK(to_vector<double>(d, cpu_stream())[3] == -2.5);
  CHECK_THROWS_WITH(k::convert(b, d, cpu_stream()),
                    Catch::Contains("unsupported conversion bf16 -> f64"));
  const Tensor short_b = Tensor::empty(Shape{3}, DType::BF16, Device::cpu());
  CHECK_THROWS_WITH(k::convert(f, short_b, cpu_stream()), Catch::Contains("shapes differ"));
}

namespace {

// The convolution family on the target. On the CPU the bf16 call must store the f32 call's
// result rounded; on a GPU cuDNN's bf16 and f32 paths use different algorithms, so there the
// bounds against f64 are the check (with one more bf16 rounding of the filter gradient).
void conv_checks() {
  struct Case {
    Shape x, w;
    k::ConvParams p;
  };
  // A narrow 3x3 layer (the CPU's direct path where AVX-512 exists), a strided 3x3 and a 1x1.
  const std::vector<Case> cases = {{Shape::nhwc(2, 9, 9, 16), Shape{16, 3, 3, 16}, {1, 1, 1, 1}},
                                   {Shape::nhwc(2, 10, 10, 8), Shape{24, 3, 3, 8}, {2, 2, 1, 1}},
                                   {Shape::nhwc(3, 6, 6, 32), Shape{40, 1, 1, 32}, {1, 1, 0, 0}}};
  uint64_t seed = 1;
  for (const Case& c : cases) {
    INFO("x " << c.x.str() << " w " << c.w.str());
    const Shape ys = k::conv_output_shape(c.x, c.w, c.p);
    const Twin x = random_twin(c.x, seed++), w = random_twin(c.w, seed++);
    const Twin dy = random_twin(ys, seed++);
    Twin y{zeros(ys, DType::F32), zeros(ys, DType::BF16)};
    Twin dx{zeros(c.x, DType::F32), zeros(c.x, DType::BF16)};
    // The filter gradient accumulates into the f32 gradient arena from a non-zero start.
    Twin dw = random_twin(c.w, seed++, DType::F32);
    const Stream& s = ts();
    const Stream& c64 = cpu_stream();
    k::conv_forward(x.f, w.f, y.f, c.p, s);
    k::conv_forward(x.b, w.b, y.b, c.p, s);
    k::conv_backward_data(dy.f, w.f, dx.f, c.p, s);
    k::conv_backward_data(dy.b, w.b, dx.b, c.p, s);
    const std::vector<double> dw0 = as_f64(dw.b);
    k::conv_backward_filter(x.f, dy.f, dw.f, c.p, s);
    k::conv_backward_filter(x.b, dy.b, dw.b, c.p, s);
    if (!on_gpu()) {
      require_matches(y, "forward");
      require_matches(dx, "backward data");
      require_matches(dw, "backward filter");
    }

    // Against f64 on the same inputs; each bound's magnitude is the op over |inputs|.
    const int64_t taps = c.w[1] * c.w[2];
    Tensor y64 = zeros(ys, DType::F64), ym = zeros(ys, DType::F64);
    k::conv_forward(f64_of(x.b), f64_of(w.b), y64, c.p, c64);
    k::conv_forward(f64_of(x.b, true), f64_of(w.b, true), ym, c.p, c64);
    require_within_sum_bound(y.b, y64, ym, taps * c.x[3], "forward vs f64");
    Tensor dx64 = zeros(c.x, DType::F64), dxm = zeros(c.x, DType::F64);
    k::conv_backward_data(f64_of(dy.b), f64_of(w.b), dx64, c.p, c64);
    k::conv_backward_data(f64_of(dy.b, true), f64_of(w.b, true), dxm, c.p, c64);
    require_within_sum_bound(dx.b, dx64, dxm, taps * c.w[0], "backward data vs f64");
    Tensor dw64 = make_tensor(dw0, c.w, Device::cpu(), c64);
    std::vector<double> dw0_abs = dw0;
    for (double& v : dw0_abs) v = std::abs(v);
    Tensor dwm = make_tensor(dw0_abs, c.w, Device::cpu(), c64);
    k::conv_backward_filter(f64_of(x.b), f64_of(dy.b), dw64, c.p, c64);
    k::conv_backward_filter(f64_of(x.b, true), f64_of(dy.b, true), dwm, c.p, c64);
    // On a GPU the increment (the gradient of this call alone) went through bf16 once.
    Tensor inc64 = zeros(c.w, DType::F64);
    k::conv_backward_filter(f64_of(x.b), f64_of(dy.b), inc64, c.p, c64);
    const TensorView increment = inc64.view();
    require_within_sum_bound(dw.b, dw64, dwm, ys[0] * ys[1] * ys[2] + 1, "backward filter vs f64",
                             on_gpu() ? &increment : nullptr);
  }
}

}  // namespace

TEST_CASE("bf16 convolutions store the f32 result rounded and stay within bf16 bounds of f64",
          "[kernels][bf16]") {
  conv_checks();
}

TEST_CASE("gpu: bf16 convolutions (cuDNN) stay within bf16 bounds of f64", "[gpu][kernels][bf16]") {
  AUGUR_REQUIRE_GPU();
  const OnGpu gpu;
  conv_checks();
}

namespace {

void linear_checks() {
  const int64_t n = 6, in = 72, out = 10;
  const Twin x = random_twin(Shape{n, in}, 11), w = random_twin(Shape{out, in}, 12);
  const Twin b = random_twin(Shape{out}, 13), dy = random_twin(Shape{n, out}, 14);
  Twin y{zeros(Shape{n, out}, DType::F32), zeros(Shape{n, out}, DType::BF16)};
  Twin dx{zeros(Shape{n, in}, DType::F32), zeros(Shape{n, in}, DType::BF16)};
  Twin dw{zeros(Shape{out, in}, DType::F32), zeros(Shape{out, in}, DType::F32)};
  Twin db{zeros(Shape{out}, DType::F32), zeros(Shape{out}, DType::F32)};
  const Stream& s = ts();
  const Stream& c64 = cpu_stream();
  k::linear_forward(x.f, w.f, b.f, y.f, s);
  k::linear_forward(x.b, w.b, b.b, y.b, s);
  k::linear_backward(x.f, w.f, dy.f, dx.f, dw.f, db.f, s);
  k::linear_backward(x.b, w.b, dy.b, dx.b, dw.b, db.b, s);
  if (!on_gpu()) {  // cuBLAS's bf16 and f32 GEMMs sum in different orders
    require_matches(y, "forward");
    require_matches(dx, "dx");
    require_matches(dw, "dw");
    require_matches(db, "db");
  }
  Tensor y64 = zeros(Shape{n, out}, DType::F64), ym = zeros(Shape{n, out}, DType::F64);
  k::linear_forward(f64_of(x.b), f64_of(w.b), f64_of(b.b), y64, c64);
  k::linear_forward(f64_of(x.b, true), f64_of(w.b, true), f64_of(b.b, true), ym, c64);
  require_within_sum_bound(y.b, y64, ym, in + 1, "forward vs f64");
  Tensor dx64 = zeros(Shape{n, in}, DType::F64), dxm = zeros(Shape{n, in}, DType::F64);
  Tensor dw64 = zeros(Shape{out, in}, DType::F64), dwm = zeros(Shape{out, in}, DType::F64);
  Tensor db64 = zeros(Shape{out}, DType::F64), dbm = zeros(Shape{out}, DType::F64);
  k::linear_backward(f64_of(x.b), f64_of(w.b), f64_of(dy.b), dx64, dw64, db64, c64);
  k::linear_backward(f64_of(x.b, true), f64_of(w.b, true), f64_of(dy.b, true), dxm, dwm, dbm, c64);
  require_within_sum_bound(dx.b, dx64, dxm, out, "dx vs f64");
  require_within_sum_bound(dw.b, dw64, dwm, n, "dw vs f64");
  require_within_sum_bound(db.b, db64, dbm, n, "db vs f64");
}

}  // namespace

TEST_CASE("bf16 linear layers store the f32 result rounded and stay within bf16 bounds of f64",
          "[kernels][bf16]") {
  linear_checks();
}

TEST_CASE("gpu: bf16 linear layers (cuBLAS) stay within bf16 bounds of f64",
          "[gpu][kernels][bf16]") {
  AUGUR_REQUIRE_GPU();
  const OnGpu gpu;
  linear_checks();
}

namespace {

// BatchNorm on the target: its bf16 kernels are its f32 kernels with bf16 loads and stores, so
// on either device the bf16 call stores the f32 call's result rounded.
void batchnorm_checks() {
  const Shape xs = Shape::nhwc(4, 5, 5, 12), cs{12};
  const Twin x = random_twin(xs, 21, DType::BF16, -2.f, 3.f);
  const Twin gamma = random_twin(cs, 22, DType::BF16, 0.5f, 1.5f), beta = random_twin(cs, 23);
  const Twin residual = random_twin(xs, 24), dy = random_twin(xs, 25);
  Twin mean{zeros(cs, DType::F32), zeros(cs, DType::F32)};
  Twin invstd{zeros(cs, DType::F32), zeros(cs, DType::F32)};
  const Stream& s = ts();
  k::batchnorm_stats(x.f, mean.f, invstd.f, 1e-5, s);
  k::batchnorm_stats(x.b, mean.b, invstd.b, 1e-5, s);
  require_matches(mean, "mean");
  require_matches(invstd, "invstd");
  for (const bool with_residual : {false, true}) {
    INFO("residual " << with_residual);
    const TensorView rf = with_residual ? residual.f.view() : TensorView();
    const TensorView rb = with_residual ? residual.b.view() : TensorView();
    Twin y{zeros(xs, DType::F32), zeros(xs, DType::BF16)};
    k::batchnorm_forward_train(x.f, gamma.f, beta.f, mean.f, invstd.f, rf, k::BnActivation::Relu,
                               y.f, s);
    k::batchnorm_forward_train(x.b, gamma.b, beta.b, mean.b, invstd.b, rb, k::BnActivation::Relu,
                               y.b, s);
    require_matches(y, "forward_train");
    Twin dx{zeros(xs, DType::F32), zeros(xs, DType::BF16)};
    Twin dr{zeros(xs, DType::F32), zeros(xs, DType::BF16)};
    Twin dgamma = random_twin(cs, 26, DType::F32), dbeta = random_twin(cs, 27, DType::F32);
    const TensorView drf = with_residual ? dr.f.view() : TensorView();
    const TensorView drb = with_residual ? dr.b.view() : TensorView();
    k::batchnorm_backward(x.f, y.f, dy.f, gamma.f, mean.f, invstd.f, k::BnActivation::Relu, dx.f,
                          dgamma.f, dbeta.f, drf, s);
    // The bf16 backward reads the bf16 output's ReLU mask: rounding keeps every sign.
    k::batchnorm_backward(x.b, y.b, dy.b, gamma.b, mean.b, invstd.b, k::BnActivation::Relu, dx.b,
                          dgamma.b, dbeta.b, drb, s);
    require_matches(dx, "dx");
    require_matches(dgamma, "dgamma");
    require_matches(dbeta, "dbeta");
    if (with_residual) require_matches(dr, "dresidual");
  }
  const Twin rmean = random_twin(cs, 28, DType::F32);
  const Twin rvar = random_twin(cs, 29, DType::F32, 0.5f, 2.f);
  Twin y{zeros(xs, DType::F32), zeros(xs, DType::BF16)};
  k::batchnorm_forward_infer(x.f, gamma.f, beta.f, rmean.f, rvar.f, 1e-5, residual.f,
                             k::BnActivation::None, y.f, s);
  k::batchnorm_forward_infer(x.b, gamma.b, beta.b, rmean.b, rvar.b, 1e-5, residual.b,
                             k::BnActivation::None, y.b, s);
  require_matches(y, "forward_infer");
}

}  // namespace

TEST_CASE("bf16 BatchNorm keeps its statistics in f32 and stores the f32 result rounded",
          "[kernels][bf16]") {
  batchnorm_checks();
}

TEST_CASE("gpu: bf16 BatchNorm kernels store their f32 result rounded", "[gpu][kernels][bf16]") {
  AUGUR_REQUIRE_GPU();
  const OnGpu gpu;
  batchnorm_checks();
}

namespace {

void elementwise_checks() {
  const Stream& s = ts();
  const Shape xs = Shape::nhwc(2, 6, 6, 8);
  const Twin a = random_twin(xs, 31), b = random_twin(xs, 32);
  Twin y{zeros(xs, DType::F32), zeros(xs, DType::BF16)};
  k::relu_forward(a.f, y.f, s);
  k::relu_forward(a.b, y.b, s);
  require_matches(y, "relu_forward");
  resync(y);
  Twin dx{zeros(xs, DType::F32), zeros(xs, DType::BF16)};
  k::relu_backward(y.f, b.f, dx.f, s);
  k::relu_backward(y.b, b.b, dx.b, s);
  require_matches(dx, "relu_backward");
  k::add(a.f, b.f, y.f, s);
  k::add(a.b, b.b, y.b, s);
  require_matches(y, "add");
  Twin acc = random_twin(xs, 33);
  k::accumulate(a.f, acc.f, s);
  k::accumulate(a.b, acc.b, s);
  require_matches(acc, "accumulate");
  resync(acc);
  k::scale(acc.f, 0.37, s);
  k::scale(acc.b, 0.37, s);
  require_matches(acc, "scale");
  resync(acc);
  k::add_scalar(acc.f, 1.25, s);
  k::add_scalar(acc.b, 1.25, s);
  require_matches(acc, "add_scalar");

  const k::MaxPoolParams mp = k::MaxPoolParams::square(3, 2, 1);
  const Shape ps = Shape::nhwc(2, 3, 3, 8);
  Twin pooled{zeros(ps, DType::F32), zeros(ps, DType::BF16)};
  const Tensor argmax_f = zeros(ps, DType::I32), argmax_b = zeros(ps, DType::I32);
  k::max_pool_forward(a.f, pooled.f, argmax_f, mp, s);
  k::max_pool_forward(a.b, pooled.b, argmax_b, mp, s);
  require_matches(pooled, "max_pool_forward");
  CHECK(to_vector<int32_t>(argmax_f, s) == to_vector<int32_t>(argmax_b, s));
  const Twin dpooled = random_twin(ps, 34);
  k::max_pool_backward(dpooled.f, argmax_f, dx.f, mp, s);
  k::max_pool_backward(dpooled.b, argmax_b, dx.b, mp, s);
  require_matches(dx, "max_pool_backward");
  Twin gap{zeros(Shape{2, 8}, DType::F32), zeros(Shape{2, 8}, DType::BF16)};
  k::global_avg_pool_forward(a.f, gap.f, s);
  k::global_avg_pool_forward(a.b, gap.b, s);
  require_matches(gap, "global_avg_pool_forward");
  resync(gap);
  k::global_avg_pool_backward(gap.f, dx.f, s);
  k::global_avg_pool_backward(gap.b, dx.b, s);
  require_matches(dx, "global_avg_pool_backward");

  const Twin logits = random_twin(Shape{5, 7}, 35, DType::BF16, -4.f, 4.f);
  const Tensor labels =
      make_tensor(std::vector<int64_t>{0, 6, 3, 3, 1}, Shape{5}, target().device, s);
  Twin loss{zeros(Shape{1}, DType::F32), zeros(Shape{1}, DType::F32)};
  Twin dlogits{zeros(Shape{5, 7}, DType::F32), zeros(Shape{5, 7}, DType::BF16)};
  k::softmax_xent_forward_backward(logits.f, labels, loss.f, dlogits.f, 0.1, s);
  k::softmax_xent_forward_backward(logits.b, labels, loss.b, dlogits.b, 0.1, s);
  require_matches(loss, "loss");
  require_matches(dlogits, "dlogits");
  k::softmax_xent_loss(logits.f, labels, loss.f, 0.0, s);
  k::softmax_xent_loss(logits.b, labels, loss.b, 0.0, s);
  require_matches(loss, "evaluation loss");
  const Tensor counts_f = zeros(Shape{2}, DType::I64), counts_b = zeros(Shape{2}, DType::I64);
  k::accuracy_topk(logits.f, labels, counts_f, 3, s);
  k::accuracy_topk(logits.b, labels, counts_b, 3, s);
  CHECK(to_vector<int64_t>(counts_f, s) == to_vector<int64_t>(counts_b, s));
}

}  // namespace

TEST_CASE("bf16 elementwise, pooling, loss and accuracy kernels store the f32 result rounded",
          "[kernels][bf16]") {
  elementwise_checks();
}

TEST_CASE("gpu: bf16 elementwise, pooling, loss and accuracy kernels store the f32 result rounded",
          "[gpu][kernels][bf16]") {
  AUGUR_REQUIRE_GPU();
  const OnGpu gpu;
  elementwise_checks();
}

TEST_CASE("bf16 calls refuse a wrong mix of dtypes, naming the op and the view",
          "[kernels][bf16]") {
  const Stream& s = cpu_stream();
  const Tensor x = zeros(Shape::nhwc(1, 4, 4, 2), DType::BF16);
  const Tensor w32 = zeros(Shape{3, 3, 3, 2}, DType::F32);
  const Tensor w16 = zeros(Shape{3, 3, 3, 2}, DType::BF16);
  const Tensor y = zeros(Shape::nhwc(1, 4, 4, 3), DType::BF16);
  const k::ConvParams p{1, 1, 1, 1};
  CHECK_THROWS_WITH(k::conv_forward(x, w32, y, p, s),
                    Catch::Contains("conv_forward: w") && Catch::Contains("should be bf16"));
  // Parameter gradients accumulate in the f32 arena: a bf16 one is refused.
  CHECK_THROWS_WITH(
      k::conv_backward_filter(x, y, w16, p, s),
      Catch::Contains("conv_backward_filter: dw") && Catch::Contains("should be f32"));
  const Tensor stats16 = zeros(Shape{2}, DType::BF16), stats32 = zeros(Shape{2}, DType::F32);
  CHECK_THROWS_WITH(k::batchnorm_stats(x, stats16, stats32, 1e-5, s),
                    Catch::Contains("batchnorm_stats: mean") && Catch::Contains("should be f32"));
}

TEST_CASE("gpu: convert rounds to bf16 and widens exactly as the CPU does",
          "[gpu][kernels][bf16]") {
  AUGUR_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  const Stream s = Stream::create(gpu);
  // Random values at many scales, plus the ties, infinities and NaN of the CPU test.
  std::vector<float> v = random_floats(1 << 16, 41, -1.f, 1.f);
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::ldexp(v[i], int(i % 200) - 100);
  const float inf = std::numeric_limits<float>::infinity();
  for (float special : {1.f + 0x1p-8f, 1.f + 3 * 0x1p-8f, inf, -inf, std::nanf(""),
                        std::numeric_limits<float>::max()})
    v.push_back(special);
  const Shape shape{int64_t(v.size())};
  const Tensor on_gpu = make_tensor(v, shape, gpu, s);
  const Tensor b_gpu = Tensor::empty(shape, DType::BF16, gpu, &s);
  const Tensor back_gpu = Tensor::empty(shape, DType::F32, gpu, &s);
  k::convert(on_gpu, b_gpu, s);
  k::convert(b_gpu, back_gpu, s);
  const Twin cpu = twin(v, shape);
  const std::vector<bf16> want = to_vector<bf16>(cpu.b, cpu_stream());
  const std::vector<bf16> got = to_vector<bf16>(b_gpu, s);
  int64_t mismatches = 0;
  for (size_t i = 0; i < v.size(); ++i) mismatches += want[i].bits != got[i].bits;
  CHECK(mismatches == 0);
  const std::vector<float> widened = to_vector<float>(back_gpu, s);
  mismatches = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const float w = bf16_to_float(want[i]);
    mismatches += std::memcmp(&w, &widened[i], sizeof w) != 0;
  }
  CHECK(mismatches == 0);
}
