// A whole ResNet-50 forward and backward on the GPU against the CPU reference, tensor by
// tensor, under a tolerance table.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "models/resnet.h"
#include "runtime/random.h"
#include "tests/support/gpu.h"
#include "tests/support/random.h"
#include "tests/support/tensors.h"

using namespace augur;
using namespace augur::test;

namespace {

struct StepResult {
  std::vector<double> logits, grads, state;
  double loss = 0;
};

template <class T>
std::vector<T> cast(const std::vector<float>& v) {
  return std::vector<T>(v.begin(), v.end());
}

template <class T>
std::vector<double> widen(const TensorView& t, const Stream& s) {
  const std::vector<T> v = to_vector<T>(t, s);
  return std::vector<double>(v.begin(), v.end());
}

// One forward and backward in precision T (f64 runs on the CPU reference only).
template <class T>
StepResult run(const StageNet& net, const std::vector<float>& w0, const std::vector<float>& s0,
               const std::vector<float>& x, const std::vector<int64_t>& labels, Shape xs,
               const Device& d) {
  Stream s = Stream::create(d);
  Tensor w = make_tensor(cast<T>(w0), Shape{net.params.size()}, d, s);
  Tensor st = make_tensor(cast<T>(s0), Shape{net.state.size()}, d, s);
  Tensor g = Tensor::zeros(Shape{net.params.size()}, dtype_of<T>(), d, s);
  Tensor xt = make_tensor(cast<T>(x), xs, d, s);
  Tensor lt = make_tensor(labels, Shape{int64_t(labels.size())}, d, s);
  Pass p;
  p.stream = &s;
  p.weights = w;
  p.grads = g;
  p.state = st;
  Saved saved;
  const LossPass pass = forward_backward(net, p, saved, xt, lt);
  StepResult r;
  r.logits = widen<T>(pass.logits, s);
  r.loss = widen<T>(pass.loss, s)[0];
  r.grads = widen<T>(g, s);
  r.state = widen<T>(st, s);
  return r;
}

double rel(const double* a, const double* b, int64_t n) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < n; ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += double(b[i]) * b[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

}  // namespace

TEST_CASE("gpu: a whole resnet50 forward/backward matches the CPU reference", "[gpu][models]") {
  AUGUR_REQUIRE_GPU();
  const ModelSpec spec = resnet_spec("resnet50", {100, 3, 64});
  const StageNet net = build_model(spec);
  std::vector<float> w, st;
  initialize_stage(net, 3, &w, &st);
  const std::vector<float> x = random_floats(size_t(2) * 64 * 64 * 3, 5);
  const std::vector<int64_t> labels = {7, 42};
  const Shape xs = Shape::nhwc(2, 64, 64, 3);
  // The reference is the CPU in f64; the CPU's own f32 run measures how far an f32
  // implementation of this network lands from it.
  const StepResult truth = run<double>(net, w, st, x, labels, xs, Device::cpu());
  const StepResult cpu = run<float>(net, w, st, x, labels, xs, Device::cpu());
  const StepResult gpu = run<float>(net, w, st, x, labels, xs, Device::cuda(0));

  // Forward tensors (relative Frobenius norm): each conv output sums K products in f32
  // (u = 2^-24), so an implementation is off by ~u sqrt(K) per layer, adding over the L layers
  // of a path: 4 L u sqrt(Kmax) with L = 54, Kmax = 4608.
  const double u = 0x1p-24, forward_tol = 4 * 54 * u * std::sqrt(4608.0);
  CHECK(rel(gpu.logits.data(), truth.logits.data(), int64_t(truth.logits.size())) <= forward_tol);
  CHECK(std::abs(gpu.loss - truth.loss) <= forward_tol * std::abs(truth.loss));
  for (const ArenaEntry& e : net.state.entries()) {
    if (!e.exported) continue;
    INFO(e.name);
    CHECK(rel(gpu.state.data() + e.offset, truth.state.data() + e.offset, e.numel()) <=
          forward_tol);
  }
  // Gradients are not bounded by rounding alone here: with a batch of 2, BatchNorm in layer4
  // normalises 8 values per channel, and ReLU inputs within rounding of zero land on either
  // side of the kink, so an f32 run's gradients sit about 2% from f64 (the CPU's do: measured
  // per tensor, median 1.8%, max 2.5%). A correct GPU implementation makes errors of the same
  // kind and size: per tensor, at most 4 times the CPU's own f32 error (independent errors of
  // equal spread rarely differ by more), plus the rounding-level floor for tensors the kinks
  // do not reach (the fc bias); over the whole gradient, at most twice the CPU's. A wrong
  // kernel shows up as errors of order 1.
  const double grad_floor = 2 * forward_tol;
  const auto n_params = int64_t(truth.grads.size());
  const double cpu_all = rel(cpu.grads.data(), truth.grads.data(), n_params);
  INFO("whole gradient: CPU f32 " << cpu_all << ", GPU "
                                  << rel(gpu.grads.data(), truth.grads.data(), n_params));
  CHECK(rel(gpu.grads.data(), truth.grads.data(), n_params) <= 2 * cpu_all + grad_floor);
  for (const ArenaEntry& e : net.params.entries()) {
    const double cpu_err =
        rel(cpu.grads.data() + e.offset, truth.grads.data() + e.offset, e.numel());
    INFO(e.name << ": CPU f32 error " << cpu_err);
    CHECK(rel(gpu.grads.data() + e.offset, truth.grads.data() + e.offset, e.numel()) <=
          4 * cpu_err + grad_floor);
  }
}
