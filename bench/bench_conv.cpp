// Convolutions: compute-bound, so the peer is the device's measured f32 GEMM throughput
// (OpenBLAS sgemm with its own threads on CPU, measured before the first convolution makes
// OpenBLAS single-threaded; cuBLAS sgemm on CUDA). Shapes: ResNet-50 (torchvision v1.5,
// stride on the 3x3) at a 32x32 input with batch 32, and at ImageNet's 224x224 input; and
// the default run's resnet20 at 28x28 (Fashion-MNIST) with batch 128, whose narrow layers
// run the CPU's direct kernels: there each op is timed on both CPU paths, the direct kernels
// and im2col + GEMM, which is how the choice between them was made.
//
//   bench_conv [--device cpu|cuda:N] [--imagenet-batch N]   (default 8 on CPU, 32 on CUDA)
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "kernels/conv.h"
#include "runtime/tensor.h"
#include "runtime/thread_pool.h"

using namespace augur;
using kernels::ConvParams;

namespace {

struct Layer {
  const char* name;
  int64_t n, h, w, c, k, r, s;
  int stride, pad;
};

Tensor filled(Shape shape, const Device& device, const Stream& s, uint32_t seed) {
  std::vector<float> v(static_cast<size_t>(shape.numel()));
  for (auto& x : v) {  // xorshift: any values in [-1, 1) will do
    seed ^= seed << 13;
    seed ^= seed >> 17;
    seed ^= seed << 5;
    x = float(seed % 2000) / 1000.f - 1.f;
  }
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

// All three ops on a small strided, padded case against the definition, in double.
bool correct(const Device& device, const Stream& s) {
  const int64_t N = 2, H = 7, W = 6, C = 5, K = 4, R = 3, S = 3;
  const ConvParams p{2, 2, 1, 1};
  Tensor x = filled(Shape{N, H, W, C}, device, s, 1), w = filled(Shape{K, R, S, C}, device, s, 2);
  const Shape ys = kernels::conv_output_shape(x.shape(), w.shape(), p);
  Tensor dy = filled(ys, device, s, 3);
  Tensor y = Tensor::empty(ys, DType::F32, device, &s);
  Tensor dx = Tensor::empty(x.shape(), DType::F32, device, &s);
  Tensor dw = Tensor::zeros(w.shape(), DType::F32, device, s);
  kernels::conv_forward(x, w, y, p, s);
  kernels::conv_backward_data(dy, w, dx, p, s);
  kernels::conv_backward_filter(x, dy, dw, p, s);
  const auto xv = read(x, s), wv = read(w, s), gv = read(dy, s);
  const auto yv = read(y, s), dxv = read(dx, s), dwv = read(dw, s);
  std::vector<double> ry(yv.size(), 0), rdx(dxv.size(), 0), rdw(dwv.size(), 0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < ys[1]; ++i)
      for (int64_t j = 0; j < ys[2]; ++j)
        for (int64_t o = 0; o < K; ++o)
          for (int64_t r = 0; r < R; ++r)
            for (int64_t q = 0; q < S; ++q) {
              const int64_t ih = i * p.stride_h - p.pad_h + r, iw = j * p.stride_w - p.pad_w + q;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              for (int64_t c = 0; c < C; ++c) {
                const size_t yi = ((n * ys[1] + i) * ys[2] + j) * K + o;
                const size_t xi = ((n * H + ih) * W + iw) * C + c,
                             wi = ((o * R + r) * S + q) * C + c;
                ry[yi] += double(xv[xi]) * wv[wi];
                rdx[xi] += double(gv[yi]) * wv[wi];
                rdw[wi] += double(gv[yi]) * xv[xi];
              }
            }
  double worst = 0;
  auto cmp = [&](const std::vector<float>& a, const std::vector<double>& e) {
    for (size_t i = 0; i < a.size(); ++i) worst = std::fmax(worst, std::fabs(a[i] - e[i]));
  };
  cmp(yv, ry);
  cmp(dxv, rdx);
  cmp(dwv, rdw);
  if (!(worst < 1e-4)) {
    std::printf("conv: wrong results on %s (max |error| %g)\n", device.str().c_str(), worst);
    return false;
  }
  return true;
}

}  // namespace

static int bench_main(int argc, char** argv) {
  bench::check_arguments(argc, argv, {"--device", "--imagenet-batch"});
  Device device;
  if (!bench::parse_device(argc, argv, &device)) return 0;
  int64_t imagenet_batch = device.is_cuda() ? 32 : 8;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--imagenet-batch") == 0) imagenet_batch = std::atoll(argv[i + 1]);
  Stream s = Stream::create(device);
  const double peer = bench::measured_sgemm_tflops(device);
  if (!correct(device, s)) return 1;
  std::printf("device %s, %d pool threads, measured sgemm %.3f TFLOP/s\n", device.str().c_str(),
              ThreadPool::global().size(), peer);
  if (device.is_cpu())  // OpenBLAS is single-threaded from here on: one core's share
    std::printf("single-threaded OpenBLAS sgemm %.3f TFLOP/s\n",
                bench::measured_sgemm_tflops(device));

  const int64_t b = 32, ib = imagenet_batch;
  const std::vector<Layer> layers = {
      {"cifar32 stem 7x7/2 3->64", b, 32, 32, 3, 64, 7, 7, 2, 3},
      {"cifar32 l1 1x1 64->64", b, 8, 8, 64, 64, 1, 1, 1, 0},
      {"cifar32 l1 3x3 64->64", b, 8, 8, 64, 64, 3, 3, 1, 1},
      {"cifar32 l1 1x1 64->256", b, 8, 8, 64, 256, 1, 1, 1, 0},
      {"cifar32 l2 3x3/2 128->128", b, 8, 8, 128, 128, 3, 3, 2, 1},
      {"cifar32 l2 down 1x1/2 256->512", b, 8, 8, 256, 512, 1, 1, 2, 0},
      {"cifar32 l3 3x3 256->256", b, 2, 2, 256, 256, 3, 3, 1, 1},
      {"cifar32 l4 3x3 512->512", b, 1, 1, 512, 512, 3, 3, 1, 1},
      {"imagenet stem 7x7/2 3->64", ib, 224, 224, 3, 64, 7, 7, 2, 3},
      {"imagenet l1 1x1 64->64", ib, 56, 56, 64, 64, 1, 1, 1, 0},
      {"imagenet l1 3x3 64->64", ib, 56, 56, 64, 64, 3, 3, 1, 1},
      {"imagenet l1 1x1 64->256", ib, 56, 56, 64, 256, 1, 1, 1, 0},
      {"imagenet l1 1x1 256->64", ib, 56, 56, 256, 64, 1, 1, 1, 0},
      {"resnet20 stem 3x3 1->16", 128, 28, 28, 1, 16, 3, 3, 1, 1},
      {"resnet20 l1 3x3 16->16", 128, 28, 28, 16, 16, 3, 3, 1, 1},
      {"resnet20 l2 3x3/2 16->32", 128, 28, 28, 16, 32, 3, 3, 2, 1},
      {"resnet20 l2 3x3 32->32", 128, 14, 14, 32, 32, 3, 3, 1, 1},
      {"resnet20 l3 3x3/2 32->64", 128, 14, 14, 32, 64, 3, 3, 2, 1},
      {"resnet20 l3 3x3 64->64", 128, 7, 7, 64, 64, 3, 3, 1, 1},
  };
  std::printf("batch 32 at 32x32; ImageNet shapes at batch %lld\n", (long long)ib);
  for (const Layer& l : layers) {
    const ConvParams p{l.stride, l.stride, l.pad, l.pad};
    Tensor x = filled(Shape{l.n, l.h, l.w, l.c}, device, s, 4);
    Tensor w = filled(Shape{l.k, l.r, l.s, l.c}, device, s, 5);
    const Shape ys = kernels::conv_output_shape(x.shape(), w.shape(), p);
    Tensor y = Tensor::empty(ys, DType::F32, device, &s);
    Tensor dw = Tensor::zeros(w.shape(), DType::F32, device, s);
    Tensor dx = Tensor::empty(x.shape(), DType::F32, device, &s);
    const double flops = 2.0 * double(ys.numel()) * double(l.r * l.s * l.c);
    const int iters = flops > 2e9 ? 5 : 10;
    const bool narrow = device.is_cpu() && kernels::cpu_direct_conv_active() && l.k <= 64;
    for (bool direct : narrow ? std::vector<bool>{true, false} : std::vector<bool>{true}) {
      kernels::set_cpu_direct_conv(direct);
      const std::string name = std::string(l.name) + (narrow && !direct ? " (im2col+gemm)" : "");
      bench::report(
          name + " fwd",
          bench::time_on_stream([&] { kernels::conv_forward(x, w, y, p, s); }, s, 2, iters), 0,
          flops, 0, peer);
      bench::report(
          name + " bwd data",
          bench::time_on_stream([&] { kernels::conv_backward_data(y, w, dx, p, s); }, s, 2, iters),
          0, flops, 0, peer);
      bench::report(name + " bwd filter",
                    bench::time_on_stream([&] { kernels::conv_backward_filter(x, y, dw, p, s); }, s,
                                          2, iters),
                    0, flops, 0, peer);
    }
    kernels::set_cpu_direct_conv(true);
  }
  return 0;
}

int main(int argc, char** argv) {
  return augur::bench::guarded_main(argc, argv, bench_main);
}
