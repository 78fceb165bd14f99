// Whole-model training throughput of the CPU backend: ResNet-50 (torchvision layout, 10
// classes as for CIFAR-sized training) at 32x32, batch 32, forward + softmax cross-entropy +
// backward + SGD (momentum 0.9, weight decay 5e-4, lr 0.01) on a fixed synthetic batch. The
// peer is PyTorch's CPU backend running the same loop (bench/torch_resnet_cpu.py;
// bench/compare_resnet_cpu.sh runs both in one invocation and prints the ratio). With
// --device cuda:N the same loop runs on a GPU (its peer: torch_resnet_cpu.py --device cuda,
// run by scripts/gpu-validate.sh).
//
//   bench_resnet_cpu [--model resnet50] [--steps 20] [--warmup 3] [--batch 32] [--size 32]
//                    [--channels 3] [--classes 10] [--device cpu] [--tf32] [--bf16]
//                    [--nondeterministic] [--profile] [--no-direct-conv]
//
// The default run's model is the other case that matters on a CPU: --model resnet20 --size 28
// --channels 1 --batch 128 (Fashion-MNIST, 16-64 channels, where GEMMs are narrow).
//
// On a GPU, convolution algorithms are chosen by timing (as torch.backends.cudnn.benchmark);
// --tf32 lets cuDNN and cuBLAS use TF32 tensor cores (the peer then allows them too);
// --bf16 trains as `augur train --precision bf16` does (bf16 activations and compute weights,
// written by the fused step; f32 master weights, gradients and statistics; the peer runs
// torch.autocast(bfloat16));
// --nondeterministic lets cuDNN use algorithms that accumulate with atomics (as PyTorch does
// unless torch.backends.cudnn.deterministic is set).
//
// --no-direct-conv sends every CPU convolution through im2col + GEMM (kernels/conv.h), to
// measure what the direct kernels for narrow layers bring.
//
// Threads: AUGUR_NUM_THREADS (the comparison script sets 2). The headline img/s is the median
// over the timed steps, measured with profiling off. --profile (or AUGUR_PROFILE=1) then runs
// the same number of steps again with per-kernel timers on and prints where a step's time
// goes; "other" is the step time no kernel timer covers (elementwise ops, allocation, the
// layers' own bookkeeping).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "kernels/conv.h"
#include "kernels/convert.h"
#include "kernels/gpu_math.h"
#include "kernels/profile.h"
#include "models/resnet.h"
#include "optim/optimizer.h"
#include "runtime/host_data.h"
#include "runtime/random.h"
#include "runtime/thread_pool.h"

using namespace augur;
namespace profile = kernels::profile;

namespace {

struct Options {
  std::string model = "resnet50";
  int steps = 20, warmup = 3, batch = 32, size = 32, channels = 3, classes = 10;
  Device device = Device::cpu();
  bool profile = false, tf32 = false, bf16 = false, nondeterministic = false, direct_conv = true;
};

Options parse(int argc, char** argv) {
  Options o;
  if (const char* env = std::getenv("AUGUR_PROFILE")) o.profile = std::strcmp(env, "0") != 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--profile")
      o.profile = true;
    else if (a == "--no-direct-conv")
      o.direct_conv = false;
    else if (a == "--tf32")
      o.tf32 = true;
    else if (a == "--bf16")
      o.bf16 = true;
    else if (a == "--nondeterministic")
      o.nondeterministic = true;
    else if (a == "--model" && has_value)
      o.model = argv[++i];
    else if (a == "--steps" && has_value)
      o.steps = std::max(1, std::atoi(argv[++i]));
    else if (a == "--warmup" && has_value)
      o.warmup = std::max(0, std::atoi(argv[++i]));
    else if (a == "--batch" && has_value)
      o.batch = std::max(2, std::atoi(argv[++i]));
    else if (a == "--size" && has_value)
      o.size = std::max(1, std::atoi(argv[++i]));
    else if (a == "--device" && has_value)
      o.device = Device::parse(argv[++i]);
    else if (a == "--channels" && has_value)
      o.channels = std::max(1, std::atoi(argv[++i]));
    else if (a == "--classes" && has_value)
      o.classes = std::max(2, std::atoi(argv[++i]));
    else
      throw Error("bench_resnet_cpu: unknown argument '" + a + "'");
  }
  return o;
}

class Trainer {
 public:
  explicit Trainer(const Options& o)
      : net_(build_model(resnet_spec(o.model, {o.classes, o.channels, o.size}))),
        stream_(Stream::create(o.device)),
        optimizer_(config(), optim::LrSchedule::constant(0.01),
                   optim::DecayMask::all(net_.params.size()), o.device, stream_) {
    std::vector<float> w, st;
    initialize_stage(net_, 1, &w, &st);
    weights_ = make_tensor(w, Shape{net_.params.size()}, o.device, stream_);
    state_ = make_tensor(st, Shape{net_.state.size()}, o.device, stream_);
    grads_ = Tensor::zeros(Shape{net_.params.size()}, DType::F32, o.device, stream_);
    Random rng(2);
    std::vector<float> x(size_t(o.batch) * o.size * o.size * o.channels);
    for (float& v : x) v = float(rng.normal());
    input_ = make_tensor(x, Shape::nhwc(o.batch, o.size, o.size, o.channels), o.device, stream_);
    if (o.bf16) {
      compute_ = Tensor::empty(weights_.shape(), DType::BF16, o.device, &stream_);
      kernels::convert(weights_, compute_, stream_);
      Tensor x16 = Tensor::empty(input_.shape(), DType::BF16, o.device, &stream_);
      kernels::convert(input_, x16, stream_);
      input_ = std::move(x16);
    }
    std::vector<int64_t> labels(size_t(o.batch));
    for (size_t i = 0; i < labels.size(); ++i) labels[i] = int64_t(i) % o.classes;
    labels_ = make_tensor(labels, Shape{o.batch}, o.device, stream_);
  }

  // One training step; returns the loss it computed.
  float step() {
    Pass pass;
    pass.stream = &stream_;
    pass.weights = compute_.empty() ? weights_.view() : compute_.view();
    pass.grads = grads_;
    pass.state = state_;
    Saved saved;
    const Tensor loss = forward_backward(net_, pass, saved, input_, labels_).loss;
    optimizer_.step(weights_, grads_, stream_, nullptr, true, 0, compute_);
    float host = 0;  // reading the loss waits for the step, as PyTorch's loss.item() does
    copy(TensorView(&host, DType::F32, Device::cpu(), Shape{1}), loss, stream_);
    stream_.synchronize();
    return host;
  }

 private:
  static optim::OptimizerConfig config() {
    optim::OptimizerConfig c;
    c.sgd.momentum = 0.9;
    c.sgd.weight_decay = 5e-4;
    return c;
  }

  StageNet net_;
  Stream stream_;
  optim::Optimizer optimizer_;
  Tensor weights_, state_, grads_, input_, labels_;
  Tensor compute_;  // --bf16: the bf16 copy of the weights the passes compute with
};

// CPU time of every thread of the process: the work a step costs, which other processes on
// the machine inflate far less than they inflate wall time.
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void print_breakdown(const profile::Totals& t, double step_seconds, int steps) {
  std::printf("per-step breakdown over %d profiled steps (mean step %.1f ms):\n", steps,
              step_seconds * 1e3);
  double covered = 0;
  for (size_t i = 0; i < t.seconds.size(); ++i) {
    const double ms = t.seconds[i] / steps * 1e3;
    covered += ms;
    std::printf("  %-16s %8.2f ms  %5.1f%%  (%lld calls/step)\n", profile::op_name(profile::Op(i)),
                ms, 100 * ms / (step_seconds * 1e3), (long long)(t.calls[i] / steps));
  }
  const double other = step_seconds * 1e3 - covered;
  std::printf("  %-16s %8.2f ms  %5.1f%%\n", "other", other, 100 * other / (step_seconds * 1e3));
}

}  // namespace

static int bench_main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  if (o.device.is_cuda()) kernels::set_conv_algo_search(kernels::ConvAlgoSearch::Benchmark);
  kernels::set_gpu_allow_tf32(o.tf32);
  kernels::set_conv_deterministic(!o.nondeterministic);
  kernels::set_cpu_direct_conv(o.direct_conv);
  Trainer trainer(o);
  std::printf(
      "%s, %d classes, batch %d at %dx%dx%d, SGD momentum 0.9, on %s%s%s%s%s, %d pool threads\n",
      o.model.c_str(), o.classes, o.batch, o.size, o.size, o.channels, o.device.str().c_str(),
      o.tf32 ? " (TF32 allowed)" : "", o.bf16 ? " (bf16)" : "",
      o.nondeterministic ? " (nondeterministic convolutions allowed)" : "",
      o.device.is_cpu() && !kernels::cpu_direct_conv_active() ? " (im2col + GEMM only)" : "",
      ThreadPool::global().size());

  // The check before timing: finite losses that fall while the model fits the fixed batch.
  std::vector<float> losses;
  for (int i = 0; i < o.warmup; ++i) losses.push_back(trainer.step());
  std::vector<double> seconds;
  const double cpu0 = process_cpu_seconds();
  for (int i = 0; i < o.steps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    losses.push_back(trainer.step());
    seconds.push_back(seconds_since(t0));
  }
  const double cpu_per_step = (process_cpu_seconds() - cpu0) / o.steps;
  for (float l : losses)
    if (!std::isfinite(l)) {
      std::printf("non-finite loss %g: results are wrong\n", double(l));
      return 1;
    }
  std::printf("loss %.4f (first step) -> %.4f (last)\n", double(losses.front()),
              double(losses.back()));
  if (!(losses.back() < losses.front())) {
    std::printf("the loss did not fall on a fixed batch: results are wrong\n");
    return 1;
  }
  const double med = median(seconds);
  const double fastest = *std::min_element(seconds.begin(), seconds.end());
  std::printf(
      "augur: %.1f img/s (median step %.1f ms over %d steps; fastest %.1f ms, slowest "
      "%.1f ms); best step %.1f img/s\n",
      o.batch / med, med * 1e3, o.steps, fastest * 1e3,
      *std::max_element(seconds.begin(), seconds.end()) * 1e3, o.batch / fastest);
  std::printf("cpu time %.1f ms per step (all threads)\n", cpu_per_step * 1e3);

  if (o.profile) {
    profile::reset();
    profile::set_enabled(true);
    std::vector<double> profiled;
    for (int i = 0; i < o.steps; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      trainer.step();
      profiled.push_back(seconds_since(t0));
    }
    profile::set_enabled(false);
    double total = 0;
    for (double s : profiled) total += s;
    print_breakdown(profile::totals(), total / o.steps, o.steps);
  }
  return 0;
}

int main(int argc, char** argv) {
  return augur::bench::guarded_main(argc, argv, bench_main);
}
