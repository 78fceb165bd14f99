#include <catch2/catch.hpp>

#include <vector>

#include "kernels/elementwise.h"
#include "tests/support/close.h"
#include "tests/support/gpu.h"
#include "tests/support/random.h"
#include "tests/support/tensors.h"

using namespace augur;
using namespace augur::test;
namespace k = augur::kernels;

TEST_CASE("relu forward and backward on hand-computed values", "[kernels]") {
  const Stream& s = Stream::cpu();
  Tensor x = make_tensor<float>({-2.f, -0.f, 0.f, 0.5f, 3.f, -1e-30f}, Shape{6}, Device::cpu(), s);
  Tensor y = Tensor::empty(Shape{6}, DType::F32, Device::cpu());
  k::relu_forward(x, y, s);
  CHECK(to_vector<float>(y, s) == std::vector<float>{0.f, 0.f, 0.f, 0.5f, 3.f, 0.f});
  Tensor dy = make_tensor<float>({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, Shape{6}, Device::cpu(), s);
  Tensor dx = Tensor::empty(Shape{6}, DType::F32, Device::cpu());
  k::relu_backward(y, dy, dx, s);
  CHECK(to_vector<float>(dx, s) == std::vector<float>{0.f, 0.f, 0.f, 4.f, 5.f, 0.f});
  // In place.
  k::relu_forward(x, x, s);
  CHECK(to_vector<float>(x, s) == to_vector<float>(y, s));
}

TEST_CASE("add and accumulate on hand-computed values", "[kernels]") {
  const Stream& s = Stream::cpu();
  Tensor a = make_tensor<double>({1, 2, 3}, Shape{3}, Device::cpu(), s);
  Tensor b = make_tensor<double>({10, 20, 30}, Shape{3}, Device::cpu(), s);
  Tensor y = Tensor::empty(Shape{3}, DType::F64, Device::cpu());
  k::add(a, b, y, s);
  CHECK(to_vector<double>(y, s) == std::vector<double>{11, 22, 33});
  k::accumulate(a, y, s);
  CHECK(to_vector<double>(y, s) == std::vector<double>{12, 24, 36});
  k::add_scalar(y, 0.5, s);
  CHECK(to_vector<double>(y, s) == std::vector<double>{12.5, 24.5, 36.5});
  k::scale(y, 2.0, s);
  CHECK(to_vector<double>(y, s) == std::vector<double>{25, 49, 73});
}

TEST_CASE("pointwise ops reject mismatched shapes and dtypes", "[kernels]") {
  const Stream& s = Stream::cpu();
  Tensor a = Tensor::zeros(Shape{2, 3}, DType::F32, Device::cpu(), s);
  Tensor b = Tensor::zeros(Shape{3, 2}, DType::F32, Device::cpu(), s);
  Tensor i = Tensor::zeros(Shape{2, 3}, DType::I64, Device::cpu(), s);
  CHECK_THROWS_WITH(k::add(a, b, a, s), Catch::Contains("add") && Catch::Contains("[3, 2]"));
  CHECK_THROWS_WITH(k::relu_forward(i, i, s), Catch::Contains("unsupported dtype i64"));
}

TEST_CASE("gpu: pointwise kernels match the CPU reference", "[gpu][kernels]") {
  AUGUR_REQUIRE_GPU();
  const Stream& cs = Stream::cpu();
  Stream gs = Stream::create(Device::cuda(0));
  for (int64_t n : {1, 7, 1000, 300007}) {
    INFO("n = " << n);
    const auto xv = random_floats(n, 11), gv = random_floats(n, 12);
    Tensor x = make_tensor(xv, Shape{n}, Device::cpu(), cs),
           g = make_tensor(gv, Shape{n}, Device::cpu(), cs);
    Tensor xd = make_tensor(xv, Shape{n}, Device::cuda(0), gs),
           gd = make_tensor(gv, Shape{n}, Device::cuda(0), gs);
    Tensor y = Tensor::empty(Shape{n}, DType::F32, Device::cpu());
    Tensor yd = Tensor::empty(Shape{n}, DType::F32, Device::cuda(0), &gs);
    k::relu_forward(x, y, cs);
    k::relu_forward(xd, yd, gs);
    CHECK(to_vector<float>(yd, gs) == to_vector<float>(y, cs));  // exact: no arithmetic
    k::relu_backward(y, g, x, cs);
    k::relu_backward(yd, gd, xd, gs);
    CHECK(to_vector<float>(xd, gs) == to_vector<float>(x, cs));
    k::add(x, g, y, cs);
    k::add(xd, gd, yd, gs);
    CHECK(to_vector<float>(yd, gs) == to_vector<float>(y, cs));  // one rounding, same order
    k::accumulate(g, y, cs);
    k::accumulate(gd, yd, gs);
    CHECK(to_vector<float>(yd, gs) == to_vector<float>(y, cs));
    k::add_scalar(y, 1.25, cs);
    k::add_scalar(yd, 1.25, gs);
    CHECK(to_vector<float>(yd, gs) == to_vector<float>(y, cs));
    k::scale(y, 0.25, cs);
    k::scale(yd, 0.25, gs);
    CHECK(to_vector<float>(yd, gs) == to_vector<float>(y, cs));
  }
}

TEST_CASE("gpu: a kernel given tensors on two devices is refused", "[gpu][kernels]") {
  AUGUR_REQUIRE_GPU();
  Stream gs = Stream::create(Device::cuda(0));
  Tensor a = Tensor::zeros(Shape{4}, DType::F32, Device::cuda(0), gs);
  Tensor b = Tensor::zeros(Shape{4}, DType::F32, Device::cpu(), Stream::cpu());
  CHECK_THROWS_WITH(k::add(a, b, a, gs), Catch::Contains("not on the stream's device cuda:0"));
}
