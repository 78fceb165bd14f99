// Fully connected layers: GEMMs, so the peer is the device's measured f32 GEMM throughput
// (measured before the first kernel call makes OpenBLAS single-threaded). Shapes: ResNet-50's
// head (2048 -> 1000 for ImageNet, 2048 -> 10 for CIFAR-10) at batch 32 and 256.
//
//   bench_linear [--device cpu|cuda:N]
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "kernels/linear.h"
#include "runtime/tensor.h"
#include "runtime/thread_pool.h"

using namespace augur;

namespace {

Tensor filled(Shape shape, const Device& device, const Stream& s, float scale) {
  std::vector<float> v(static_cast<size_t>(shape.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = scale * float(int(i % 7) - 3);
  Tensor t = Tensor::empty(shape, DType::F32, device, &s);
  copy(t, TensorView(v.data(), DType::F32, Device::cpu(), shape), s);
  s.synchronize();
  return t;
}

std::vector<float> read(const TensorView& t, const Stream& s) {
  std::vector<float> v(static_cast<size_t>(t.numel()));
  copy(TensorView(v.data(), DType::F32, Device::cpu(), t.shape()), t, s);
  s.synchronize();
  return v;
}

// y = x w^T + b and the gradients on a small case, against the definition.
bool correct(const Device& device, const Stream& s) {
  const int64_t n = 3, in = 5, out = 4;
  Tensor x = filled(Shape{n, in}, device, s, 1.f), w = filled(Shape{out, in}, device, s, 0.5f);
  Tensor b = filled(Shape{out}, device, s, 2.f), dy = filled(Shape{n, out}, device, s, 1.f);
  Tensor y = Tensor::empty(Shape{n, out}, DType::F32, device, &s);
  Tensor dx = Tensor::empty(Shape{n, in}, DType::F32, device, &s);
  Tensor dw = Tensor::zeros(Shape{out, in}, DType::F32, device, s);
  Tensor db = Tensor::zeros(Shape{out}, DType::F32, device, s);
  kernels::linear_forward(x, w, b, y, s);
  kernels::linear_backward(x, w, dy, dx, dw, db, s);
  const auto xv = read(x, s), wv = read(w, s), bv = read(b, s), gv = read(dy, s);
  const auto yv = read(y, s), dxv = read(dx, s), dwv = read(dw, s), dbv = read(db, s);
  double worst = 0;
  auto check = [&](float got, double want) { worst = std::fmax(worst, std::fabs(got - want)); };
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < out; ++o) {
      double acc = bv[o];
      for (int64_t j = 0; j < in; ++j) acc += double(xv[i * in + j]) * wv[o * in + j];
      check(yv[i * out + o], acc);
    }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < in; ++j) {
      double acc = 0;
      for (int64_t o = 0; o < out; ++o) acc += double(gv[i * out + o]) * wv[o * in + j];
      check(dxv[i * in + j], acc);
    }
  for (int64_t o = 0; o < out; ++o) {
    double acc_b = 0;
    for (int64_t i = 0; i < n; ++i) acc_b += gv[i * out + o];
    check(dbv[o], acc_b);
    for (int64_t j = 0; j < in; ++j) {
      double acc = 0;
      for (int64_t i = 0; i < n; ++i) acc += double(gv[i * out + o]) * xv[i * in + j];
      check(dwv[o * in + j], acc);
    }
  }
  if (!(worst < 1e-4)) {
    std::printf("linear: wrong results on %s (max |error| %g)\n", device.str().c_str(), worst);
    return false;
  }
  return true;
}

}  // namespace

static int bench_main(int argc, char** argv) {
  bench::check_arguments(argc, argv, {"--device"});
  Device device;
  if (!bench::parse_device(argc, argv, &device)) return 0;
  Stream s = Stream::create(device);
  const double peer = bench::measured_sgemm_tflops(device);
  if (!correct(device, s)) return 1;
  std::printf("device %s, %d pool threads, measured sgemm %.3f TFLOP/s\n", device.str().c_str(),
              ThreadPool::global().size(), peer);
  struct Shape3 {
    int64_t n, in, out;
  };
  for (const Shape3& d : {Shape3{32, 2048, 1000}, Shape3{256, 2048, 1000}, Shape3{32, 2048, 10},
                          Shape3{256, 2048, 10}}) {
    Tensor x = filled(Shape{d.n, d.in}, device, s, 0.01f);
    Tensor w = filled(Shape{d.out, d.in}, device, s, 0.01f);
    Tensor b = filled(Shape{d.out}, device, s, 0.1f);
    Tensor y = Tensor::empty(Shape{d.n, d.out}, DType::F32, device, &s);
    Tensor dx = Tensor::empty(Shape{d.n, d.in}, DType::F32, device, &s);
    Tensor dw = Tensor::zeros(Shape{d.out, d.in}, DType::F32, device, s);
    Tensor db = Tensor::zeros(Shape{d.out}, DType::F32, device, s);
    const double gemm = 2.0 * double(d.n) * double(d.in) * double(d.out);
    const std::string name = "linear " + std::to_string(d.n) + "x" + std::to_string(d.in) + " -> " +
                             std::to_string(d.out);
    bench::report(name + " fwd",
                  bench::time_on_stream([&] { kernels::linear_forward(x, w, b, y, s); }, s), 0,
                  gemm, 0, peer);
    bench::report(
        name + " bwd",
        bench::time_on_stream([&] { kernels::linear_backward(x, w, y, dx, dw, db, s); }, s), 0,
        2 * gemm, 0, peer);
  }
  return 0;
}

int main(int argc, char** argv) {
  return augur::bench::guarded_main(argc, argv, bench_main);
}
