// The fused optimizer step over a ResNet-50-sized arena (25.6 M parameters): bandwidth-bound,
// so the peer is the device's measured copy bandwidth, and the figure of merit is the share of
// it the kernel reaches (bytes the kernel must move / time, against copy's bytes / time).
#include <cstdio>
#include <vector>

#include "bench/bench_util.h"
#include "optim/optimizer.h"
#include "runtime/tensor.h"

using namespace augur;
using namespace augur::optim;

namespace {

constexpr int64_t kParams = 25'557'032;  // torchvision ResNet-50

// A ResNet-50-like table of exclusions: 53 BatchNorm layers (weight and bias side by side)
// and the classifier bias, spread over the arena.
DecayMask resnet50_like_mask() {
  std::vector<DecayRange> ranges;
  const int64_t widths[] = {64, 256, 128, 512, 256, 1024, 512, 2048};
  const int64_t layers = 53, stride = kParams / (layers + 1);
  for (int64_t l = 0; l < layers; ++l)
    ranges.push_back({(l + 1) * stride - 4096, 2 * widths[l % 8], false});
  ranges.push_back({kParams - 1000, 1000, false});
  return DecayMask(kParams, ranges);
}

OptimizerConfig sgd() {
  OptimizerConfig c;
  c.sgd.momentum = 0.9;
  c.sgd.weight_decay = 1e-4;
  return c;
}

// One step of momentum SGD on four elements, checked against the rule written out.
bool correct(const Device& device, Stream& s) {
  Optimizer opt(sgd(), LrSchedule::constant(0.1), DecayMask(4, {{2, 2, false}}), device, s);
  std::vector<float> host = {1.f, -1.f, 2.f, 0.f};
  Tensor w = Tensor::empty(Shape{4}, DType::F32, device, &s);
  Tensor g = Tensor::empty(Shape{4}, DType::F32, device, &s);
  Tensor p = Tensor::empty(Shape{4}, DType::F32, device, &s);
  copy(w, TensorView(host.data(), DType::F32, Device::cpu(), Shape{4}), s);
  copy(g, TensorView(host.data(), DType::F32, Device::cpu(), Shape{4}), s);
  PredictRequest r{Predictor::Nesterov, 1, p};
  opt.step(w, g, s, &r);
  std::vector<float> out(4), pred(4);
  copy(TensorView(out.data(), DType::F32, Device::cpu(), Shape{4}), w, s);
  copy(TensorView(pred.data(), DType::F32, Device::cpu(), Shape{4}), p, s);
  s.synchronize();
  for (int i = 0; i < 4; ++i) {
    const double wd = i < 2 ? 1e-4 : 0.0;
    const double v = host[i] + wd * host[i];
    const double w1 = host[i] - 0.1 * v;
    const double p1 = w1 - 0.1 * (0.9 * v + wd * w1);
    if (std::abs(out[i] - w1) > 1e-6 || std::abs(pred[i] - p1) > 1e-6) {
      std::printf("optimizer: wrong result at %d: w %g (expected %g), predicted %g (expected %g)\n",
                  i, out[i], w1, pred[i], p1);
      return false;
    }
  }
  return true;
}

void line(const char* name, const bench::Timing& t, double bytes, double peer) {
  bench::report(name, t, bytes, 0, peer, 1);
  std::printf("%-44s %10.1f MB moved, %8.1f us at copy bandwidth\n", "", bytes / 1e6,
              bytes / (peer * 1e9) * 1e6);
}

}  // namespace

static int bench_main(int argc, char** argv) {
  bench::check_arguments(argc, argv, {"--device"});
  Device device;
  if (!bench::parse_device(argc, argv, &device)) return 0;
  Stream s = Stream::create(device);
  if (!correct(device, s)) return 1;

  const int64_t n = kParams;
  const double f = 4.0 * n;  // bytes of one f32 arena
  Tensor w = Tensor::zeros(Shape{n}, DType::F32, device, s);
  Tensor g = Tensor::zeros(Shape{n}, DType::F32, device, s);
  Tensor p32 = Tensor::zeros(Shape{n}, DType::F32, device, s);
  Tensor p16 = Tensor::zeros(Shape{n}, DType::BF16, device, s);
  const DecayMask mask = resnet50_like_mask();
  Optimizer opt(sgd(), LrSchedule::constant(0.1), mask, device, s);
  OptimizerConfig adam_config;
  adam_config.kind = OptimizerKind::AdamW;
  Optimizer adam(adam_config, LrSchedule::constant(1e-3), mask, device, s);

  const double peer = bench::measured_copy_gbps(device);
  std::printf(
      "device %s, measured copy bandwidth %.1f GB/s; %lld parameters, %lld excluded "
      "intervals\n",
      device.str().c_str(), peer, static_cast<long long>(n),
      static_cast<long long>(mask.excluded_intervals()));

  PredictRequest nag32{Predictor::Nesterov, 3, p32}, nag16{Predictor::Nesterov, 3, p16};
  PredictRequest cg32{Predictor::ConstantGradient, 3, p32};
  PredictRequest adam32{Predictor::Linear, 3, p32};
  // Reads w, g, v; writes w, v, zeroed g (+ the prediction).
  line("sgd step (no prediction)", bench::time_on_stream([&] { opt.step(w, g, s); }, s), 6 * f,
       peer);
  line("sgd step + predict f32 (fused)",
       bench::time_on_stream([&] { opt.step(w, g, s, &nag32); }, s), 7 * f, peer);
  line("sgd step + predict bf16 (fused)",
       bench::time_on_stream([&] { opt.step(w, g, s, &nag16); }, s), 6.5 * f, peer);
  // bf16 mode's step: also the bf16 compute copy of the new weights, in the same pass.
  Tensor w16 = Tensor::zeros(Shape{n}, DType::BF16, device, s);
  line("sgd step + predict bf16 + bf16 weights (fused)",
       bench::time_on_stream([&] { opt.step(w, g, s, &nag16, true, 0, w16); }, s), 7 * f, peer);
  // Reads w, v (+ g for constant-gradient); writes the prediction.
  line("predict-only nesterov f32",
       bench::time_on_stream([&] { opt.predict(w, TensorView(), nag32, s); }, s), 3 * f, peer);
  line("predict-only constant-gradient f32",
       bench::time_on_stream([&] { opt.predict(w, g, cg32, s); }, s), 4 * f, peer);
  // Reads w, g, m, v; writes w, m, v, zeroed g, the prediction.
  line("adamw step + predict f32 (fused)",
       bench::time_on_stream([&] { adam.step(w, g, s, &adam32); }, s), 9 * f, peer);
  return 0;
}

int main(int argc, char** argv) {
  return augur::bench::guarded_main(argc, argv, bench_main);
}
