// Pointwise kernels: bandwidth-bound, so the peer is the device's copy bandwidth.
#include <cstdio>

#include "bench/bench_util.h"
#include "kernels/elementwise.h"
#include "runtime/tensor.h"

using namespace augur;

static int bench_main(int argc, char** argv) {
  bench::check_arguments(argc, argv, {"--device"});
  Device device;
  if (!bench::parse_device(argc, argv, &device)) return 0;
  Stream s = Stream::create(device);
  const int64_t n = int64_t(32) << 20;  // 128 MiB of f32
  Tensor x = Tensor::zeros(Shape{n}, DType::F32, device, s);
  Tensor y = Tensor::zeros(Shape{n}, DType::F32, device, s);
  Tensor g = Tensor::zeros(Shape{n}, DType::F32, device, s);
  // Correctness first: relu(-1) = 0, 2 + 3 = 5.
  {
    std::vector<float> probe = {-1.f, 2.f};
    Tensor small = Tensor::empty(Shape{2}, DType::F32, device, &s);
    Tensor out = Tensor::empty(Shape{2}, DType::F32, device, &s);
    copy(small, TensorView(probe.data(), DType::F32, Device::cpu(), Shape{2}), s);
    kernels::relu_forward(small, out, s);
    kernels::add(out, small, out, s);
    copy(TensorView(probe.data(), DType::F32, Device::cpu(), Shape{2}), out, s);
    s.synchronize();
    if (probe[0] != -1.f || probe[1] != 4.f) {
      std::printf("elementwise: wrong results (%g, %g)\n", probe[0], probe[1]);
      return 1;
    }
  }
  const double peer = bench::measured_copy_gbps(device);
  std::printf("device %s, measured copy bandwidth %.1f GB/s\n", device.str().c_str(), peer);
  const double b = 4.0 * n;
  bench::report("relu_forward 32M",
                bench::time_on_stream([&] { kernels::relu_forward(x, y, s); }, s), 2 * b, 0, peer,
                1);
  bench::report("relu_backward 32M",
                bench::time_on_stream([&] { kernels::relu_backward(y, g, x, s); }, s), 3 * b, 0,
                peer, 1);
  bench::report("add 32M", bench::time_on_stream([&] { kernels::add(x, g, y, s); }, s), 3 * b, 0,
                peer, 1);
  return 0;
}

int main(int argc, char** argv) {
  return augur::bench::guarded_main(argc, argv, bench_main);
}
