// BatchNorm2d over ResNet-50's activations: bandwidth-bound, so the peer is the device's copy
// bandwidth. Forward-train = statistics + normalise (x read twice, y written once); backward =
// the reduction pass (x, dy and for ReLU y) and the input-gradient pass (the same reads, dx
// and for a residual dresidual written). Bytes count that minimal traffic; the CPU reference
// reads x once more (its statistics take two passes), so its share of copy is understated.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "kernels/batchnorm.h"
#include "runtime/host_data.h"
#include "runtime/tensor.h"

using namespace augur;
using kernels::BnActivation;

namespace {

// The hand-computed case of the tests (four values per channel, eps = 1, every value exact):
// forward with residual + ReLU and its backward.
bool check_hand_case(const Device& device, const Stream& s) {
  const Shape shape{1, 2, 2, 2}, cs{2};
  Tensor x = make_tensor<float>({0, 5, 0, 1, 0, 1, 4, 1}, shape, device, s);
  Tensor gamma = make_tensor<float>({1, 2}, cs, device, s),
         beta = make_tensor<float>({0.25, 0}, cs, device, s);
  Tensor res = make_tensor<float>(std::vector<float>(8, 0), shape, device, s);
  Tensor dy = make_tensor<float>(std::vector<float>(8, 1), shape, device, s);
  Tensor dgamma = make_tensor<float>({10, 20}, cs, device, s),
         dbeta = make_tensor<float>({10, 20}, cs, device, s);
  Tensor mean = Tensor::empty(cs, DType::F32, device, &s);
  Tensor invstd = Tensor::empty(cs, DType::F32, device, &s);
  Tensor y = Tensor::empty(shape, DType::F32, device, &s);
  Tensor dx = Tensor::empty(shape, DType::F32, device, &s);
  Tensor dres = Tensor::empty(shape, DType::F32, device, &s);
  kernels::batchnorm_stats(x, mean, invstd, 1.0, s);
  kernels::batchnorm_forward_train(x, gamma, beta, mean, invstd, res, BnActivation::Relu, y, s);
  kernels::batchnorm_backward(x, y, dy, gamma, mean, invstd, BnActivation::Relu, dx, dgamma, dbeta,
                              dres, s);
  const bool ok =
      to_vector<float>(y, s) == std::vector<float>{0, 3, 0, 0, 0, 0, 1.75, 0} &&
      to_vector<float>(dx, s) == std::vector<float>{-0.03125, 0.1875,  -0.03125, -0.0625,
                                                    -0.03125, -0.0625, 0.09375,  -0.0625} &&
      to_vector<float>(dgamma, s) == std::vector<float>{11.5, 21.5} &&
      to_vector<float>(dbeta, s) == std::vector<float>{11, 21} &&
      to_vector<float>(dres, s) == std::vector<float>{0, 1, 0, 0, 0, 0, 1, 0};
  if (!ok) std::printf("batchnorm: wrong results on the hand-computed case\n");
  return ok;
}

// On a CUDA device, the statistics of a large activation against the CPU reference: a coarse
// sanity bound here (the tests hold the derived tolerances).
bool check_against_cpu(const Device& device, const Stream& s, Shape shape) {
  if (device.is_cpu()) return true;
  std::vector<float> xv(static_cast<size_t>(shape.numel()));
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = float((i * 2654435761u) % 1000) * 1e-3f + 2.f;
  const Shape cs{shape[3]};
  const Stream& cpu_stream = Stream::cpu();
  Tensor xc = make_tensor<float>(xv, shape, Device::cpu(), cpu_stream),
         xd = make_tensor<float>(xv, shape, device, s);
  Tensor mc = Tensor::empty(cs, DType::F32, Device::cpu()),
         ic = Tensor::empty(cs, DType::F32, Device::cpu());
  Tensor md = Tensor::empty(cs, DType::F32, device, &s),
         id = Tensor::empty(cs, DType::F32, device, &s);
  kernels::batchnorm_stats(xc, mc, ic, 1e-5, cpu_stream);
  kernels::batchnorm_stats(xd, md, id, 1e-5, s);
  const auto a = to_vector<float>(md, s), b = to_vector<float>(mc, cpu_stream),
             c = to_vector<float>(id, s), d = to_vector<float>(ic, cpu_stream);
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max({worst, double(std::fabs(a[i] - b[i]) / std::fabs(b[i])),
                      double(std::fabs(c[i] - d[i]) / std::fabs(d[i]))});
  std::printf("statistics of %s vs CPU reference: max relative difference %.2e\n",
              shape.str().c_str(), worst);
  return worst < 1e-4;
}

struct Layer {
  const char* name;
  int64_t h, c;
  bool residual;  // end of a bottleneck block: BN + residual add + ReLU
};

}  // namespace

static int bench_main(int argc, char** argv) {
  bench::check_arguments(argc, argv, {"--device", "--batch"});
  Device device;
  if (!bench::parse_device(argc, argv, &device)) return 0;
  int64_t batch = 32;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--batch") == 0) batch = std::stoll(argv[i + 1]);
  Stream s = Stream::create(device);
  if (!check_hand_case(device, s)) return 1;
  if (!check_against_cpu(device, s, Shape{batch, 56, 56, 64})) return 1;

  const double peer = bench::measured_copy_gbps(device);
  std::printf("device %s, batch %lld, measured copy bandwidth %.1f GB/s\n", device.str().c_str(),
              static_cast<long long>(batch), peer);
  // BatchNorm2d layers of ResNet-50 (NHWC), one of each shape.
  const Layer layers[] = {
      {"stem 112x112x64 +relu", 112, 64, false},   {"s1 56x56x64 +relu", 56, 64, false},
      {"s1 56x56x256 +res+relu", 56, 256, true},   {"s2 28x28x128 +relu", 28, 128, false},
      {"s2 28x28x512 +res+relu", 28, 512, true},   {"s3 14x14x256 +relu", 14, 256, false},
      {"s3 14x14x1024 +res+relu", 14, 1024, true}, {"s4 7x7x512 +relu", 7, 512, false},
      {"s4 7x7x2048 +res+relu", 7, 2048, true},
  };
  for (const Layer& l : layers) {
    const Shape shape{batch, l.h, l.h, l.c}, cs{l.c};
    Tensor x = Tensor::zeros(shape, DType::F32, device, s);
    Tensor y = Tensor::zeros(shape, DType::F32, device, s);
    Tensor dy = Tensor::zeros(shape, DType::F32, device, s);
    Tensor dx = Tensor::zeros(shape, DType::F32, device, s);
    Tensor res = l.residual ? Tensor::zeros(shape, DType::F32, device, s) : Tensor();
    Tensor dres = l.residual ? Tensor::zeros(shape, DType::F32, device, s) : Tensor();
    Tensor gamma = Tensor::zeros(cs, DType::F32, device, s);
    Tensor beta = Tensor::zeros(cs, DType::F32, device, s);
    Tensor mean = Tensor::zeros(cs, DType::F32, device, s);
    Tensor invstd = Tensor::zeros(cs, DType::F32, device, s);
    Tensor dgamma = Tensor::zeros(cs, DType::F32, device, s);
    Tensor dbeta = Tensor::zeros(cs, DType::F32, device, s);
    const double b = 4.0 * static_cast<double>(shape.numel());
    const double r = l.residual ? 1 : 0;
    bench::report(std::string("fwd-train ") + l.name,
                  bench::time_on_stream(
                      [&] {
                        kernels::batchnorm_stats(x, mean, invstd, 1e-5, s);
                        kernels::batchnorm_forward_train(x, gamma, beta, mean, invstd, res,
                                                         BnActivation::Relu, y, s);
                      },
                      s),
                  b * (3 + r), 0, peer, 1);
    bench::report(std::string("backward  ") + l.name,
                  bench::time_on_stream(
                      [&] {
                        kernels::batchnorm_backward(x, y, dy, gamma, mean, invstd,
                                                    BnActivation::Relu, dx, dgamma, dbeta, dres, s);
                      },
                      s),
                  b * (3 + 3 + 1 + r), 0, peer, 1);
  }
  return 0;
}

int main(int argc, char** argv) {
  return augur::bench::guarded_main(argc, argv, bench_main);
}
