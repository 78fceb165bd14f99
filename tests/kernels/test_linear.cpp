#include <catch2/catch.hpp>

#include <vector>

#include "kernels/gpu_math.h"
#include "kernels/linear.h"
#include "tests/support/close.h"
#include "tests/support/gpu.h"
#include "tests/support/grad_check.h"
#include "tests/support/random.h"
#include "tests/support/tensors.h"

using namespace augur;
using namespace augur::test;
namespace k = augur::kernels;

namespace {

template <class T>
Tensor host(const std::vector<T>& v, Shape s) {
  return make_tensor(v, s, Device::cpu(), Stream::cpu());
}

template <class T>
std::vector<T> values(const TensorView& t) {
  return to_vector<T>(t, Stream::cpu());
}

struct Grads {
  std::vector<double> dx, dw, db;
};

// Naive y = x w^T + b and its adjoints, in double.
std::vector<double> naive_forward(int64_t n, int64_t in, int64_t out, const std::vector<double>& x,
                                  const std::vector<double>& w, const std::vector<double>& b) {
  std::vector<double> y(n * out);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < out; ++o) {
      double acc = b.empty() ? 0.0 : b[o];
      for (int64_t j = 0; j < in; ++j) acc += x[i * in + j] * w[o * in + j];
      y[i * out + o] = acc;
    }
  return y;
}

Grads naive_backward(int64_t n, int64_t in, int64_t out, const std::vector<double>& x,
                     const std::vector<double>& w, const std::vector<double>& dy) {
  Grads g{std::vector<double>(n * in, 0.0), std::vector<double>(out * in, 0.0),
          std::vector<double>(out, 0.0)};
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < out; ++o) {
      const double d = dy[i * out + o];
      g.db[o] += d;
      for (int64_t j = 0; j < in; ++j) {
        g.dx[i * in + j] += d * w[o * in + j];
        g.dw[o * in + j] += d * x[i * in + j];
      }
    }
  return g;
}

template <class T>
std::vector<T> cpu_forward(int64_t n, int64_t in, int64_t out, const std::vector<T>& x,
                           const std::vector<T>& w, const std::vector<T>& b) {
  Tensor xt = host(x, Shape{n, in}), wt = host(w, Shape{out, in});
  Tensor bt = b.empty() ? Tensor() : host(b, Shape{out});
  Tensor y = Tensor::empty(Shape{n, out}, dtype_of<T>(), Device::cpu());
  k::linear_forward(xt, wt, bt, y, Stream::cpu());
  return values<T>(y);
}

// dx starts as garbage (overwritten), dw and db as zeros (accumulated).
template <class T>
void cpu_backward(int64_t n, int64_t in, int64_t out, const std::vector<T>& x,
                  const std::vector<T>& w, const std::vector<T>& dy, std::vector<T>* dx,
                  std::vector<T>* dw, std::vector<T>* db) {
  const Stream& s = Stream::cpu();
  Tensor xt = host(x, Shape{n, in}), wt = host(w, Shape{out, in}), dyt = host(dy, Shape{n, out});
  Tensor dxt = host(std::vector<T>(n * in, T(1e3)), Shape{n, in});
  Tensor dwt = Tensor::zeros(Shape{out, in}, dtype_of<T>(), Device::cpu(), s);
  Tensor dbt = Tensor::zeros(Shape{out}, dtype_of<T>(), Device::cpu(), s);
  k::linear_backward(xt, wt, dyt, dxt, dwt, dbt, s);
  *dx = values<T>(dxt);
  *dw = values<T>(dwt);
  *db = values<T>(dbt);
}

std::vector<double> widen(const std::vector<float>& v) {
  return {v.begin(), v.end()};
}

struct Dims {
  int64_t n, in, out;
};

}  // namespace

TEST_CASE("linear forward and backward on hand-computed values", "[kernels]") {
  // x = [[1,2,3],[4,5,6]], w = [[1,0,-1],[2,1,0]], b = [0.5, -1].
  // x w^T = [[1-3, 2+2], [4-6, 8+5]] = [[-2, 4], [-2, 13]].
  const std::vector<double> x = {1, 2, 3, 4, 5, 6}, w = {1, 0, -1, 2, 1, 0}, b = {0.5, -1};
  CHECK(cpu_forward<double>(2, 3, 2, x, w, b) == std::vector<double>{-1.5, 3, -1.5, 12});
  CHECK(cpu_forward<double>(2, 3, 2, x, w, {}) == std::vector<double>{-2, 4, -2, 13});
  // dy = [[1,2],[3,4]]: dx = dy w = [[1+4, 2, -1], [3+8, 4, -3]];
  // dw = dy^T x = [[1+12, 2+15, 3+18], [2+16, 4+20, 6+24]]; db = [1+3, 2+4].
  std::vector<double> dx, dw, db;
  cpu_backward<double>(2, 3, 2, x, w, {1, 2, 3, 4}, &dx, &dw, &db);
  CHECK(dx == std::vector<double>{5, 2, -1, 11, 4, -3});
  CHECK(dw == std::vector<double>{13, 17, 21, 18, 24, 30});
  CHECK(db == std::vector<double>{4, 6});
}

TEST_CASE("linear gradients pass central-difference checks in double precision", "[kernels]") {
  for (const Dims& d : {Dims{1, 3, 5}, Dims{4, 7, 3}, Dims{9, 16, 10}}) {
    INFO("n " << d.n << " in " << d.in << " out " << d.out);
    const auto x = random_doubles(d.n * d.in, 1), w = random_doubles(d.out * d.in, 2);
    const auto b = random_doubles(d.out, 3), r = random_doubles(d.n * d.out, 4);
    auto loss = [&](const std::vector<double>& xv, const std::vector<double>& wv,
                    const std::vector<double>& bv) {
      const auto y = cpu_forward(d.n, d.in, d.out, xv, wv, bv);
      double f = 0;
      for (size_t i = 0; i < y.size(); ++i) f += y[i] * r[i];
      return f;
    };
    std::vector<double> dx, dw, db;
    cpu_backward(d.n, d.in, d.out, x, w, r, &dx, &dw, &db);
    AUGUR_CHECK_GRADIENT(
        check_gradient([&](const std::vector<double>& v) { return loss(v, w, b); }, x, dx));
    AUGUR_CHECK_GRADIENT(
        check_gradient([&](const std::vector<double>& v) { return loss(x, v, b); }, w, dw));
    AUGUR_CHECK_GRADIENT(
        check_gradient([&](const std::vector<double>& v) { return loss(x, w, v); }, b, db));
  }
}

TEST_CASE("linear CPU matches the direct definition in f64, and f32 agrees with f64", "[kernels]") {
  // The larger shapes split their GEMMs over the thread pool.
  for (const Dims& d : {Dims{1, 3, 5}, Dims{32, 2048, 1000}, Dims{300, 64, 10}}) {
    INFO("n " << d.n << " in " << d.in << " out " << d.out);
    const auto xf = random_floats(d.n * d.in, 5), wf = random_floats(d.out * d.in, 6);
    const auto bf = random_floats(d.out, 7), gf = random_floats(d.n * d.out, 8);
    const auto x = widen(xf), w = widen(wf), b = widen(bf), g = widen(gf);
    const auto y = naive_forward(d.n, d.in, d.out, x, w, b);
    const Grads ref = naive_backward(d.n, d.in, d.out, x, w, g);
    // Reductions: forward `in` products plus the bias; dx `out`; dw and db `n`.
    const auto y64 = cpu_forward(d.n, d.in, d.out, x, w, b);
    AUGUR_CHECK_CLOSE(y64, y, tolerance_for(DType::F64, d.in + 1));
    std::vector<double> dx, dw, db;
    cpu_backward(d.n, d.in, d.out, x, w, g, &dx, &dw, &db);
    AUGUR_CHECK_CLOSE(dx, ref.dx, tolerance_for(DType::F64, d.out));
    AUGUR_CHECK_CLOSE(dw, ref.dw, tolerance_for(DType::F64, d.n));
    AUGUR_CHECK_CLOSE(db, ref.db, tolerance_for(DType::F64, d.n));
    // The f32 path against the f64 path on the same (f32-representable) inputs.
    AUGUR_CHECK_CLOSE(cpu_forward(d.n, d.in, d.out, xf, wf, bf), y64,
                      tolerance_for(DType::F32, d.in + 1));
    std::vector<float> dxf, dwf, dbf;
    cpu_backward(d.n, d.in, d.out, xf, wf, gf, &dxf, &dwf, &dbf);
    AUGUR_CHECK_CLOSE(dxf, dx, tolerance_for(DType::F32, d.out));
    AUGUR_CHECK_CLOSE(dwf, dw, tolerance_for(DType::F32, d.n));
    AUGUR_CHECK_CLOSE(dbf, db, tolerance_for(DType::F32, d.n));
  }
}

TEST_CASE("linear backward accumulates dw and db, overwrites dx, and can skip dx and db",
          "[kernels]") {
  const Stream& s = Stream::cpu();
  Tensor x = host(std::vector<double>{1, 2, 3, 4, 5, 6}, Shape{2, 3});
  Tensor w = host(std::vector<double>{1, 0, -1, 2, 1, 0}, Shape{2, 3});
  Tensor dy = host(std::vector<double>{1, 2, 3, 4}, Shape{2, 2});
  Tensor dx = Tensor::zeros(Shape{2, 3}, DType::F64, Device::cpu(), s);
  Tensor dw = Tensor::zeros(Shape{2, 3}, DType::F64, Device::cpu(), s);
  Tensor db = Tensor::zeros(Shape{2}, DType::F64, Device::cpu(), s);
  k::linear_backward(x, w, dy, dx, dw, db, s);
  k::linear_backward(x, w, dy, dx, dw, db, s);
  CHECK(values<double>(dx) == std::vector<double>{5, 2, -1, 11, 4, -3});
  CHECK(values<double>(dw) == std::vector<double>{26, 34, 42, 36, 48, 60});
  CHECK(values<double>(db) == std::vector<double>{8, 12});
  k::linear_backward(x, w, dy, TensorView(), dw, TensorView(), s);
  CHECK(values<double>(dw) == std::vector<double>{39, 51, 63, 54, 72, 90});
  CHECK(values<double>(db) == std::vector<double>{8, 12});
}

TEST_CASE("linear rejects bad arguments naming the op and shapes", "[kernels]") {
  const Stream& s = Stream::cpu();
  auto zeros = [&](Shape shape, DType dt = DType::F32) {
    return Tensor::zeros(shape, dt, Device::cpu(), s);
  };
  Tensor x = zeros(Shape{2, 3}), w = zeros(Shape{4, 3}), b = zeros(Shape{4}),
         y = zeros(Shape{2, 4});
  Tensor w5 = zeros(Shape{4, 5});
  CHECK_THROWS_WITH(k::linear_forward(x, w5, b, y, s), Catch::Contains("linear_forward") &&
                                                           Catch::Contains("[2, 3]") &&
                                                           Catch::Contains("[4, 5]"));
  Tensor x3 = zeros(Shape{2, 3, 1});
  CHECK_THROWS_WITH(k::linear_forward(x3, w, b, y, s), Catch::Contains("rank 2"));
  Tensor xi = zeros(Shape{2, 3}, DType::I64);
  CHECK_THROWS_WITH(k::linear_forward(xi, w, b, y, s), Catch::Contains("unsupported dtype i64"));
  Tensor y3 = zeros(Shape{2, 3});
  CHECK_THROWS_WITH(k::linear_forward(x, w, b, y3, s), Catch::Contains("should have shape [2, 4]"));
  Tensor b3 = zeros(Shape{3});
  CHECK_THROWS_WITH(k::linear_forward(x, w, b3, y, s), Catch::Contains("bias"));
  Tensor dw = zeros(Shape{3, 4});
  CHECK_THROWS_WITH(k::linear_backward(x, w, y, x, dw, b, s),
                    Catch::Contains("linear_backward") && Catch::Contains("dw"));
}

TEST_CASE("gpu: cuBLAS linear matches the CPU reference", "[gpu][kernels]") {
  AUGUR_REQUIRE_GPU();
  Stream gs = Stream::create(Device::cuda(0));
  const Device gpu = Device::cuda(0);
  for (bool tf32 : {false, true}) {
    k::set_gpu_allow_tf32(tf32);
    // F16 has TF32's 10-bit mantissa: the rounding model of TF32 products.
    const DType rd = tf32 ? DType::F16 : DType::F32;
    for (const Dims& d : {Dims{1, 3, 5}, Dims{7, 5, 3}, Dims{32, 2048, 1000}}) {
      INFO("n " << d.n << " in " << d.in << " out " << d.out << " tf32 " << tf32);
      const auto xv = random_floats(d.n * d.in, 9), wv = random_floats(d.out * d.in, 10);
      const auto bv = random_floats(d.out, 11), gv = random_floats(d.n * d.out, 12);
      Tensor x = make_tensor(xv, Shape{d.n, d.in}, gpu, gs);
      Tensor w = make_tensor(wv, Shape{d.out, d.in}, gpu, gs);
      Tensor b = make_tensor(bv, Shape{d.out}, gpu, gs);
      Tensor g = make_tensor(gv, Shape{d.n, d.out}, gpu, gs);
      Tensor y = Tensor::empty(Shape{d.n, d.out}, DType::F32, gpu, &gs);
      k::linear_forward(x, w, b, y, gs);
      AUGUR_CHECK_CLOSE(to_vector<float>(y, gs), cpu_forward(d.n, d.in, d.out, xv, wv, bv),
                        tolerance_for(rd, d.in + 1));
      k::linear_forward(x, w, TensorView(), y, gs);
      AUGUR_CHECK_CLOSE(to_vector<float>(y, gs), cpu_forward<float>(d.n, d.in, d.out, xv, wv, {}),
                        tolerance_for(rd, d.in));
      // dx garbage (overwritten); dw = w and db = b beforehand (accumulated onto).
      Tensor dx = make_tensor(std::vector<float>(xv.size(), 1e3f), Shape{d.n, d.in}, gpu, gs);
      Tensor dw = make_tensor(wv, Shape{d.out, d.in}, gpu, gs);
      Tensor db = make_tensor(bv, Shape{d.out}, gpu, gs);
      k::linear_backward(x, w, g, dx, dw, db, gs);
      std::vector<float> dx_ref, dw_ref, db_ref;
      cpu_backward(d.n, d.in, d.out, xv, wv, gv, &dx_ref, &dw_ref, &db_ref);
      for (size_t i = 0; i < dw_ref.size(); ++i) dw_ref[i] += wv[i];
      for (size_t i = 0; i < db_ref.size(); ++i) db_ref[i] += bv[i];
      AUGUR_CHECK_CLOSE(to_vector<float>(dx, gs), dx_ref, tolerance_for(rd, d.out));
      AUGUR_CHECK_CLOSE(to_vector<float>(dw, gs), dw_ref, tolerance_for(rd, d.n + 1));
      AUGUR_CHECK_CLOSE(to_vector<float>(db, gs), db_ref, tolerance_for(DType::F32, d.n + 1));
    }
  }
  k::set_gpu_allow_tf32(false);
}
