// Batch norm in f32 against f64 (CPU), and the CUDA kernels against the CPU reference, on
// seeded inputs with tolerances derived in batchnorm_cases.h.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "kernels/batchnorm.h"
#include "tests/kernels/batchnorm_cases.h"
#include "tests/support/close.h"
#include "tests/support/gpu.h"
#include "tests/support/tensors.h"

using namespace augur;
using namespace augur::test;
using namespace augur::test::bn;

TEST_CASE("batchnorm in f32 agrees with f64 within derived tolerances", "[kernels]") {
  const Stream& s = Stream::cpu();
  for (const Shape& shape : {Shape{4, 14, 14, 37}, Shape{1, 7, 7, 8}, Shape{3, 1, 1, 5}}) {
    INFO("shape " << shape.str());
    const Inputs in = make_inputs(shape, 100);
    const Outputs first = run_ops<float>(in, nullptr, Device::cpu(), s);
    const Common common = make_common(in, first, Device::cpu(), s);
    const Outputs f32 = run_ops<float>(in, &common, Device::cpu(), s);
    const Outputs f64 = run_ops<double>(in, &common, Device::cpu(), s);
    check_agreement(in, common, f32, f64);
  }
}

TEST_CASE("batchnorm statistics stay accurate when the mean dwarfs the spread", "[kernels]") {
  // x = 1000 + U(-1, 1) in f32: E[x^2] - E[x]^2 would cancel about six of f32's seven digits.
  const Stream& s = Stream::cpu();
  Inputs in = make_inputs(Shape{16, 16, 16, 3}, 110);
  const Vec noise = float_values(in.x.size(), 111, -1, 1);
  for (size_t i = 0; i < in.x.size(); ++i) in.x[i] = static_cast<float>(1000.0 + noise[i]);
  const Outputs f32 = run_ops<float>(in, nullptr, Device::cpu(), s);
  const Outputs f64 = run_ops<double>(in, nullptr, Device::cpu(), s);
  const StatsTolerance t = stats_tolerance(in);
  check_channels(f32.mean, f64.mean, t.mean, "mean");
  check_channels(f32.invstd, f64.invstd, t.invstd, "invstd");

  // The tolerance has teeth: the naive one-pass formula in f32 misses it.
  const int64_t C = in.channels;
  Vec naive_invstd;
  for (int64_t c = 0; c < C; ++c) {
    float sum = 0, sum_sq = 0;
    for (int64_t r = 0; r < in.rows; ++r) {
      const float x = static_cast<float>(in.x[r * C + c]);
      sum += x;
      sum_sq += x * x;
    }
    const float m = sum / in.rows, var = sum_sq / in.rows - m * m;
    naive_invstd.push_back(1.0 / std::sqrt(std::max(0.0, double(var)) + kEps));
  }
  size_t outside = 0;
  for (int64_t c = 0; c < C; ++c) {
    const Tolerance& tc = t.invstd[c];
    if (std::fabs(naive_invstd[c] - f64.invstd[c]) > tc.abs + tc.rel * f64.invstd[c]) ++outside;
  }
  CHECK(outside == static_cast<size_t>(C));
}

TEST_CASE("gpu: batchnorm kernels match the CPU reference", "[gpu][kernels]") {
  AUGUR_REQUIRE_GPU();
  const Stream& cs = Stream::cpu();
  Stream gs = Stream::create(Device::cuda(0));
  // Batch 1, C not a multiple of 8, 7x7 spatial, two rows only, wide C, and a ResNet-50
  // stage-1 activation (N*H*W = 100352) so the grid-level reduction has many partials.
  const Shape shapes[] = {Shape{1, 7, 7, 13},  Shape{1, 1, 2, 3},    Shape{5, 3, 3, 8},
                          Shape{2, 7, 7, 100}, Shape{3, 7, 7, 2048}, Shape{32, 56, 56, 64}};
  for (const Shape& shape : shapes) {
    INFO("shape " << shape.str());
    const Inputs in = make_inputs(shape, 120);
    const Outputs first = run_ops<float>(in, nullptr, Device::cpu(), cs);
    const Common common = make_common(in, first, Device::cpu(), cs);
    const Outputs cpu = run_ops<float>(in, &common, Device::cpu(), cs);
    const Outputs gpu = run_ops<float>(in, &common, Device::cuda(0), gs);
    check_agreement(in, common, gpu, cpu);
  }
}

TEST_CASE("gpu: batchnorm statistics stay accurate when the mean dwarfs the spread",
          "[gpu][kernels]") {
  AUGUR_REQUIRE_GPU();
  Stream gs = Stream::create(Device::cuda(0));
  Inputs in = make_inputs(Shape{8, 28, 28, 24}, 130);
  const Vec noise = float_values(in.x.size(), 131, -1, 1);
  for (size_t i = 0; i < in.x.size(); ++i) in.x[i] = static_cast<float>(1000.0 + noise[i]);
  const Outputs gpu = run_ops<float>(in, nullptr, Device::cuda(0), gs);
  const Outputs f64 = run_ops<double>(in, nullptr, Device::cpu(), Stream::cpu());
  const StatsTolerance t = stats_tolerance(in);
  check_channels(gpu.mean, f64.mean, t.mean, "mean");
  check_channels(gpu.invstd, f64.invstd, t.invstd, "invstd");
}

TEST_CASE("gpu: batchnorm backward lets dx and dresidual overwrite dy", "[gpu][kernels]") {
  AUGUR_REQUIRE_GPU();
  Stream gs = Stream::create(Device::cuda(0));
  const Device dev = Device::cuda(0);
  const Inputs in = make_inputs(Shape{2, 5, 5, 24}, 140);
  const Shape cs{in.channels};
  auto t = [&](const Vec& v, Shape sh) { return tensor_of<float>(v, sh, dev, gs); };
  Tensor x = t(in.x, in.shape), gamma = t(in.gamma, cs), beta = t(in.beta, cs),
         res = t(in.residual, in.shape);
  Tensor mean = Tensor::empty(cs, DType::F32, dev, &gs),
         invstd = Tensor::empty(cs, DType::F32, dev, &gs);
  Tensor y = Tensor::empty(in.shape, DType::F32, dev, &gs);
  kernels::batchnorm_stats(x, mean, invstd, kEps, gs);
  kernels::batchnorm_forward_train(x, gamma, beta, mean, invstd, res, kernels::BnActivation::Relu,
                                   y, gs);
  Tensor dgamma = t(in.dgamma0, cs), dbeta = t(in.dbeta0, cs);
  Tensor dy = t(in.dy, in.shape), dx = Tensor::empty(in.shape, DType::F32, dev, &gs),
         dres = Tensor::empty(in.shape, DType::F32, dev, &gs);
  kernels::batchnorm_backward(x, y, dy, gamma, mean, invstd, kernels::BnActivation::Relu, dx,
                              dgamma, dbeta, dres, gs);
  const auto dx_ref = to_vector<float>(dx, gs), dres_ref = to_vector<float>(dres, gs);
  Tensor dy2 = t(in.dy, in.shape), dy3 = t(in.dy, in.shape);
  kernels::batchnorm_backward(x, y, dy2, gamma, mean, invstd, kernels::BnActivation::Relu, dy2,
                              dgamma, dbeta, dres, gs);
  CHECK(to_vector<float>(dy2, gs) == dx_ref);
  kernels::batchnorm_backward(x, y, dy3, gamma, mean, invstd, kernels::BnActivation::Relu, dx,
                              dgamma, dbeta, dy3, gs);
  CHECK(to_vector<float>(dy3, gs) == dres_ref);
  CHECK(to_vector<float>(dx, gs) == dx_ref);
}
