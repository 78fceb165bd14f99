// Pooling, the loss and accuracy: all bandwidth-bound, so the peer is the device's measured
// copy bandwidth. Bytes counted are the minimum traffic (each tensor read or written once).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "bench/bench_util.h"
#include "kernels/accuracy.h"
#include "kernels/pool.h"
#include "kernels/softmax_xent.h"
#include "runtime/tensor.h"

using namespace augur;
namespace k = augur::kernels;

namespace {

// Deterministic inputs in [-1, 1) (an LCG; benchmark data need no statistical quality).
template <class T>
Tensor filled(Shape shape, const Device& device, const Stream& s, uint64_t seed, bool ints = false,
              int64_t modulus = 1) {
  std::vector<T> host(static_cast<size_t>(shape.numel()));
  uint64_t state = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (auto& v : host) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const uint64_t bits = state >> 33;
    v = ints ? static_cast<T>(bits % modulus) : static_cast<T>(double(bits) / 2147483648.0 * 2 - 1);
  }
  Tensor t = Tensor::empty(shape, dtype_of<T>(), device, &s);
  copy(t, TensorView(host.data(), dtype_of<T>(), Device::cpu(), shape), s);
  s.synchronize();
  return t;
}

template <class T>
std::vector<T> fetch(const TensorView& t, const Stream& s) {
  std::vector<T> host(static_cast<size_t>(t.numel()));
  copy(TensorView(host.data(), t.dtype(), Device::cpu(), t.shape()), t, s);
  s.synchronize();
  return host;
}

bool fail(const char* what) {
  std::printf("bench_pool_loss: wrong results: %s\n", what);
  return false;
}

// Hand-computed anchors on the benchmarked device, then the device against the CPU reference
// on a small odd shape.
bool correct(const Device& d, Stream& s) {
  const auto p = k::MaxPoolParams::square(3, 2, 1);
  {
    const std::vector<float> image = {3, 1, 4, 1, 5, 0, 2, 6, 5, 3, 5, 9, 9, 7, 9, 3};
    Tensor x = Tensor::empty(Shape::nhwc(1, 4, 4, 1), DType::F32, d, &s);
    copy(x, TensorView(const_cast<float*>(image.data()), DType::F32, Device::cpu(), x.shape()), s);
    Tensor y = Tensor::empty(Shape::nhwc(1, 2, 2, 1), DType::F32, d, &s);
    Tensor a = Tensor::empty(Shape::nhwc(1, 2, 2, 1), DType::I32, d, &s);
    k::max_pool_forward(x, y, a, p, s);
    if (fetch<float>(y, s) != std::vector<float>{5, 6, 9, 9} ||
        fetch<int32_t>(a, s) != std::vector<int32_t>{4, 7, 12, 11})
      return fail("max pool anchor");
  }
  {
    // Two rows: (1, 2, 3) with label 2 and (0, 0, 0) with label 0: mean loss 0.7531091.
    const std::vector<float> z = {1, 2, 3, 0, 0, 0};
    const std::vector<int64_t> y = {2, 0};
    Tensor logits = Tensor::empty(Shape{2, 3}, DType::F32, d, &s);
    Tensor labels = Tensor::empty(Shape{2}, DType::I64, d, &s);
    copy(logits, TensorView(const_cast<float*>(z.data()), DType::F32, Device::cpu(), Shape{2, 3}),
         s);
    copy(labels, TensorView(const_cast<int64_t*>(y.data()), DType::I64, Device::cpu(), Shape{2}),
         s);
    Tensor loss = Tensor::empty(Shape{1}, DType::F32, d, &s);
    k::softmax_xent_loss(logits, labels, loss, 0.0, s);
    if (std::fabs(fetch<float>(loss, s)[0] - 0.7531091f) > 1e-6f) return fail("xent anchor");
  }
  Stream cpu;
  const Shape xs = Shape::nhwc(3, 13, 11, 13), ys = k::max_pool_output_shape(xs, p);
  Tensor x = filled<float>(xs, d, s, 1), xc = filled<float>(xs, Device::cpu(), cpu, 1);
  Tensor dy = filled<float>(ys, d, s, 2), dyc = filled<float>(ys, Device::cpu(), cpu, 2);
  Tensor y = Tensor::empty(ys, DType::F32, d, &s),
         yc = Tensor::empty(ys, DType::F32, Device::cpu());
  Tensor a = Tensor::empty(ys, DType::I32, d, &s),
         ac = Tensor::empty(ys, DType::I32, Device::cpu());
  Tensor dx = Tensor::empty(xs, DType::F32, d, &s);
  Tensor dxc = Tensor::empty(xs, DType::F32, Device::cpu());
  k::max_pool_forward(x, y, a, p, s);
  k::max_pool_forward(xc, yc, ac, p, cpu);
  k::max_pool_backward(dy, a, dx, p, s);
  k::max_pool_backward(dyc, ac, dxc, p, cpu);
  if (fetch<float>(y, s) != fetch<float>(yc, cpu) ||
      fetch<int32_t>(a, s) != fetch<int32_t>(ac, cpu) ||
      fetch<float>(dx, s) != fetch<float>(dxc, cpu))
    return fail("max pool against the CPU reference");
  return true;
}

}  // namespace

static int bench_main(int argc, char** argv) {
  bench::check_arguments(argc, argv, {"--device"});
  Device device;
  if (!bench::parse_device(argc, argv, &device)) return 0;
  Stream s = Stream::create(device);
  if (!correct(device, s)) return 1;
  const double peer = bench::measured_copy_gbps(device);
  std::printf("device %s, measured copy bandwidth %.1f GB/s\n", device.str().c_str(), peer);

  const auto p = k::MaxPoolParams::square(3, 2, 1);
  for (const Shape& xs : {Shape::nhwc(32, 112, 112, 64), Shape::nhwc(32, 16, 16, 64)}) {
    const Shape ys = k::max_pool_output_shape(xs, p);
    Tensor x = filled<float>(xs, device, s, 3), dx = Tensor::empty(xs, DType::F32, device, &s);
    Tensor y = Tensor::empty(ys, DType::F32, device, &s);
    Tensor a = Tensor::empty(ys, DType::I32, device, &s);
    Tensor dy = filled<float>(ys, device, s, 4);
    const double in = 4.0 * xs.numel(), out = 4.0 * ys.numel();
    const std::string tag = "maxpool 3x3/2/1 " + xs.str();
    bench::report(tag + " fwd",
                  bench::time_on_stream([&] { k::max_pool_forward(x, y, a, p, s); }, s),
                  in + 2 * out, 0, peer, 1);
    bench::report(tag + " bwd",
                  bench::time_on_stream([&] { k::max_pool_backward(dy, a, dx, p, s); }, s),
                  2 * out + in, 0, peer, 1);
  }
  {
    const Shape xs = Shape::nhwc(32, 7, 7, 2048), ys{32, 2048};
    Tensor x = filled<float>(xs, device, s, 5), dx = Tensor::empty(xs, DType::F32, device, &s);
    Tensor y = Tensor::empty(ys, DType::F32, device, &s), dy = filled<float>(ys, device, s, 6);
    const double in = 4.0 * xs.numel(), out = 4.0 * ys.numel();
    bench::report("global avg pool " + xs.str() + " fwd",
                  bench::time_on_stream([&] { k::global_avg_pool_forward(x, y, s); }, s), in + out,
                  0, peer, 1);
    bench::report("global avg pool " + xs.str() + " bwd",
                  bench::time_on_stream([&] { k::global_avg_pool_backward(dy, dx, s); }, s),
                  in + out, 0, peer, 1);
  }
  {
    const Shape zs{256, 1000};
    Tensor z = filled<float>(zs, device, s, 7), dz = Tensor::empty(zs, DType::F32, device, &s);
    Tensor labels = filled<int64_t>(Shape{256}, device, s, 8, true, 1000);
    Tensor loss = Tensor::empty(Shape{1}, DType::F32, device, &s);
    Tensor counts = Tensor::empty(Shape{2}, DType::I64, device, &s);
    const double bytes = 4.0 * zs.numel();
    // Each call reads its label check back, so these timings include one stream sync.
    bench::report("softmax xent fwd+bwd [256, 1000]",
                  bench::time_on_stream(
                      [&] { k::softmax_xent_forward_backward(z, labels, loss, dz, 0.1, s); }, s),
                  2 * bytes, 0, peer, 1);
    bench::report("softmax xent loss only [256, 1000]",
                  bench::time_on_stream([&] { k::softmax_xent_loss(z, labels, loss, 0.1, s); }, s),
                  bytes, 0, peer, 1);
    bench::report("accuracy top-1/top-5 [256, 1000]",
                  bench::time_on_stream([&] { k::accuracy_topk(z, labels, counts, 5, s); }, s),
                  bytes, 0, peer, 1);
  }
  return 0;
}

int main(int argc, char** argv) {
  return augur::bench::guarded_main(argc, argv, bench_main);
}
