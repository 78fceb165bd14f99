#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "kernels/norms.h"
#include "tests/support/close.h"
#include "tests/support/gpu.h"
#include "tests/support/random.h"
#include "tests/support/tensors.h"

using namespace augur;
using namespace augur::test;
namespace k = augur::kernels;

TEST_CASE("norm_diff_and_norm on hand-computed values", "[kernels][norms]") {
  const Stream& s = Stream::cpu();
  Tensor a = make_tensor<float>({1.f, 2.f, 2.f}, Shape{3}, Device::cpu(), s);
  Tensor b = make_tensor<float>({1.f, 0.f, 0.f}, Shape{3}, Device::cpu(), s);
  k::NormPair r = k::norm_diff_and_norm_host(a, b, s);
  CHECK(r.diff == std::sqrt(8.0));  // |(0, 2, 2)|
  CHECK(r.norm == 3.0);
  // b empty counts as zero.
  Tensor c = make_tensor<double>({3, 4}, Shape{2}, Device::cpu(), s);
  r = k::norm_diff_and_norm_host(c, TensorView(), s);
  CHECK(r.diff == 5.0);
  CHECK(r.norm == 5.0);
  // bf16 against f32: 1.5 and -2 are exact in bf16.
  std::vector<bf16> h = {float_to_bf16(1.5f), float_to_bf16(-2.f)};
  Tensor hb = make_tensor(h, Shape{2}, Device::cpu(), s);
  Tensor f = make_tensor<float>({0.5f, 0.f}, Shape{2}, Device::cpu(), s);
  r = k::norm_diff_and_norm_host(hb, f, s);
  CHECK(r.diff == std::sqrt(5.0));  // |(1, -2)|
  CHECK(r.norm == 2.5);
}

TEST_CASE("norm_diff_and_norm is reproducible and matches a plain double sum", "[kernels][norms]") {
  const Stream& s = Stream::cpu();
  const int64_t n = 300007;  // several fixed blocks and a partial one
  const auto av = random_floats(n, 21), bv = random_floats(n, 22);
  Tensor a = make_tensor(av, Shape{n}, Device::cpu(), s);
  Tensor b = make_tensor(bv, Shape{n}, Device::cpu(), s);
  const k::NormPair r1 = k::norm_diff_and_norm_host(a, b, s);
  const k::NormPair r2 = k::norm_diff_and_norm_host(a, b, s);
  CHECK(r1.diff == r2.diff);
  CHECK(r1.norm == r2.norm);
  double d2 = 0, a2 = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = double(av[i]) - double(bv[i]);
    d2 += d * d;
    a2 += double(av[i]) * av[i];
  }
  // Squares of terms below 4 (|a - b| < 2), summed n at a time; sqrt halves the relative error.
  const Tolerance tol = tolerance_for(DType::F64, n, 4.0);
  AUGUR_CHECK_CLOSE(std::vector<double>({r1.diff * r1.diff, r1.norm * r1.norm}),
                    std::vector<double>({d2, a2}), tol);
}

TEST_CASE("norm_diff_and_norm rejects mismatched inputs", "[kernels][norms]") {
  const Stream& s = Stream::cpu();
  Tensor a = Tensor::zeros(Shape{3}, DType::F32, Device::cpu(), s);
  Tensor b = Tensor::zeros(Shape{4}, DType::F32, Device::cpu(), s);
  Tensor out = Tensor::zeros(Shape{2}, DType::F32, Device::cpu(), s);
  Tensor out64 = Tensor::zeros(Shape{2}, DType::F64, Device::cpu(), s);
  CHECK_THROWS_WITH(k::norm_diff_and_norm(a, b, out64, s), Catch::Contains("differ in size"));
  CHECK_THROWS_WITH(k::norm_diff_and_norm(a, a, out, s), Catch::Contains("must be f64"));
}

TEST_CASE("gpu: norm_diff_and_norm matches the CPU reference", "[gpu][kernels][norms]") {
  AUGUR_REQUIRE_GPU();
  const Stream& cs = Stream::cpu();
  Stream gs = Stream::create(Device::cuda(0));
  for (int64_t n : {1, 1000, 300007, 3000017}) {
    INFO("n = " << n);
    const auto av = random_floats(n, 31), bv = random_floats(n, 32);
    Tensor a = make_tensor(av, Shape{n}, Device::cpu(), cs);
    Tensor b = make_tensor(bv, Shape{n}, Device::cpu(), cs);
    Tensor ad = make_tensor(av, Shape{n}, Device::cuda(0), gs);
    Tensor bd = make_tensor(bv, Shape{n}, Device::cuda(0), gs);
    const k::NormPair c = k::norm_diff_and_norm_host(a, b, cs);
    const k::NormPair g1 = k::norm_diff_and_norm_host(ad, bd, gs);
    const k::NormPair g2 = k::norm_diff_and_norm_host(ad, bd, gs);
    CHECK(g1.diff == g2.diff);  // deterministic on the device too
    CHECK(g1.norm == g2.norm);
    const Tolerance tol = tolerance_for(DType::F64, n, 4.0);
    AUGUR_CHECK_CLOSE(std::vector<double>({g1.diff * g1.diff, g1.norm * g1.norm}),
                      std::vector<double>({c.diff * c.diff, c.norm * c.norm}), tol);
    // bf16 a (a predicted copy) against f32 b.
    std::vector<bf16> ah(av.size());
    for (size_t i = 0; i < av.size(); ++i) ah[i] = float_to_bf16(av[i]);
    Tensor ab = make_tensor(ah, Shape{n}, Device::cpu(), cs);
    Tensor abd = make_tensor(ah, Shape{n}, Device::cuda(0), gs);
    const k::NormPair cb = k::norm_diff_and_norm_host(ab, b, cs);
    const k::NormPair gb = k::norm_diff_and_norm_host(abd, bd, gs);
    AUGUR_CHECK_CLOSE(std::vector<double>({gb.diff * gb.diff, gb.norm * gb.norm}),
                      std::vector<double>({cb.diff * cb.diff, cb.norm * cb.norm}), tol);
  }
}
