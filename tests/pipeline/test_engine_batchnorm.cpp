// BatchNorm re-estimation (Engine::recalibrate_batchnorm) against statistics computed here in
// double: every running mean and variance becomes the mean over the batches of each batch's
// mean and unbiased variance (torch.optim.swa_utils.update_bn), a later BatchNorm sees the
// earlier one's training-mode output, the counters stay as they were, and splitting the model
// into stages changes nothing.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "layers/batchnorm2d.h"
#include "layers/sequential.h"
#include "pipeline/engine.h"
#include "tests/support/random.h"

using namespace augur;

namespace {

constexpr int kC = 3, kN = 4, kHW = 5;  // NHWC batches of 4 x 5 x 5 x 3

StageModel bn_stage(const std::vector<const char*>& names) {
  StageModel m;
  m.net.net = std::make_unique<Sequential>("stage");
  for (const char* n : names) m.net.net->add(std::make_unique<BatchNorm2d>(n, kC));
  m.net.net->declare(m.net.params, m.net.state);
  m.device = Device::cpu();
  m.weights.assign(static_cast<size_t>(m.net.params.size()), 0.0f);
  for (const char* n : names) {  // gamma 1.5, beta -0.25
    const ArenaEntry& g = m.net.params.find(std::string(n) + ".weight");
    const ArenaEntry& b = m.net.params.find(std::string(n) + ".bias");
    for (int c = 0; c < kC; ++c) {
      m.weights[static_cast<size_t>(g.offset + c)] = 1.5f;
      m.weights[static_cast<size_t>(b.offset + c)] = -0.25f;
    }
  }
  // Running statistics and counters the run gathered: 7, 9 and 11 updates so far.
  m.state.assign(static_cast<size_t>(m.net.state.size()), 0.5f);
  for (const char* n : names)
    m.state[static_cast<size_t>(m.net.state.find(std::string(n) + ".num_batches_tracked").offset)] =
        11.0f;
  return m;
}

// Per channel over one NHWC batch: mean and unbiased variance; `x` becomes BN's training
// output (biased variance, eps 1e-5, gamma 1.5, beta -0.25).
void stats_and_normalise(std::vector<double>& x, std::vector<double>& mean,
                         std::vector<double>& var) {
  const int n = kN * kHW * kHW;
  for (int c = 0; c < kC; ++c) {
    double m = 0, v = 0;
    for (int i = 0; i < n; ++i) m += x[size_t(i * kC + c)];
    m /= n;
    for (int i = 0; i < n; ++i) v += (x[size_t(i * kC + c)] - m) * (x[size_t(i * kC + c)] - m);
    mean[size_t(c)] += m;
    var[size_t(c)] += v / (n - 1);
    const double inv = 1.0 / std::sqrt(v / n + 1e-5);
    for (int i = 0; i < n; ++i)
      x[size_t(i * kC + c)] = (x[size_t(i * kC + c)] - m) * inv * 1.5 - 0.25;
  }
}

}  // namespace

TEST_CASE("BatchNorm re-estimation: the mean of the batches' statistics, stage after stage",
          "[pipeline][engine][staleness]") {
  const int B = 3;
  std::vector<std::vector<float>> images(B);
  std::vector<TensorView> views;
  std::vector<double> mean1(kC, 0), var1(kC, 0), mean2(kC, 0), var2(kC, 0);
  for (int b = 0; b < B; ++b) {
    const auto r = test::random_doubles(kN * kHW * kHW * kC, 40 + b, -2.0 + b, 3.0);
    images[size_t(b)].assign(r.begin(), r.end());
    views.emplace_back(images[size_t(b)].data(), DType::F32, Device::cpu(),
                       Shape{kN, kHW, kHW, kC});
    std::vector<double> x(images[size_t(b)].begin(), images[size_t(b)].end());
    stats_and_normalise(x, mean1, var1);
    stats_and_normalise(x, mean2, var2);
  }
  std::vector<std::vector<float>> results;
  for (int stages : {1, 2}) {
    INFO(stages << " stage(s)");
    std::vector<StageModel> models;
    if (stages == 1) {
      models.push_back(bn_stage({"bn1", "bn2"}));
    } else {
      models.push_back(bn_stage({"bn1"}));
      models.push_back(bn_stage({"bn2"}));
    }
    Engine e(std::move(models), optim::OptimizerConfig{}, optim::LrSchedule::constant(0.1),
             EngineOptions{});
    e.recalibrate_batchnorm(views);
    std::vector<float> all;  // bn1's then bn2's running statistics
    for (int r = 0; r < stages; ++r) {
      const auto state = e.states()[size_t(r)];
      for (const char* n : stages == 1 ? std::vector<const char*>{"bn1", "bn2"}
                                       : std::vector<const char*>{r == 0 ? "bn1" : "bn2"}) {
        const ArenaLayout& layout = e.stage_net(r).state;
        const int64_t m = layout.find(std::string(n) + ".running_mean").offset;
        const int64_t v = layout.find(std::string(n) + ".running_var").offset;
        const std::vector<double>& em = std::string(n) == "bn1" ? mean1 : mean2;
        const std::vector<double>& ev = std::string(n) == "bn1" ? var1 : var2;
        for (int c = 0; c < kC; ++c) {
          // f32 statistics over 100 values of order 1 against double: a few f32 roundings
          // per value summed, relative 1e-5 is ample and far below the differences between
          // batches (their means differ by 1 by construction).
          CHECK(state[size_t(m + c)] == Approx(em[size_t(c)] / B).margin(1e-5).epsilon(1e-5));
          CHECK(state[size_t(v + c)] == Approx(ev[size_t(c)] / B).margin(1e-5).epsilon(1e-5));
          all.push_back(state[size_t(m + c)]);
          all.push_back(state[size_t(v + c)]);
        }
        CHECK(state[size_t(layout.find(std::string(n) + ".num_batches_tracked").offset)] == 11.0f);
      }
    }
    results.push_back(all);
  }
  CHECK(results[0] == results[1]);
}
