// The engine against independent references: synchronous schedules equal one-stage
// training; PipeDream with weight stashing equals a reference that computes each
// micro-batch's gradient with the weight versions the schedule implies; measured staleness
// equals what the schedule prescribes.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>

#include "models/resnet.h"
#include "pipeline/engine.h"
#include "pipeline/lowering.h"
#include "pipeline/schedule_generators.h"
#include "pipeline/staleness.h"
#include "tests/support/toy_pipeline.h"

using namespace augur;
using namespace augur::test;

namespace {

// Every stage's weights by parameter name.
std::map<std::string, std::vector<float>> by_name(const Engine& e) {
  std::map<std::string, std::vector<float>> out;
  const auto w = e.weights();
  for (int r = 0; r < e.stages(); ++r)
    for (const auto& entry : e.stage_net(r).params.entries())
      out[entry.name] = std::vector<float>(w[r].begin() + entry.offset,
                                           w[r].begin() + entry.offset + entry.numel());
  return out;
}

double rel_diff(const std::map<std::string, std::vector<float>>& a,
                const std::map<std::string, std::vector<float>>& b) {
  double num = 0, den = 0;
  for (const auto& [name, va] : a) {
    const auto& vb = b.at(name);
    for (size_t i = 0; i < va.size(); ++i) {
      num += double(va[i] - vb[i]) * (va[i] - vb[i]);
      den += double(vb[i]) * vb[i];
    }
  }
  return std::sqrt(num / den);
}

}  // namespace

TEST_CASE("synchronous schedules train exactly like one stage accumulating the micro-batches",
          "[pipeline][engine]") {
  const ModelSpec spec = toy_spec();
  const int M = 4, per = 2, minibatches = 2;
  ToyData data = make_data(M * minibatches, per, 3);
  const auto lr = optim::LrSchedule::constant(0.05);

  auto train = [&](ScheduleKind kind, int K) {
    Engine e(spec, even_placement(spec, K), sgd(), lr, 7, EngineOptions{});
    const Schedule s = lower(make_schedule(kind, K, M));
    std::vector<float> losses;
    for (int b = 0; b < minibatches; ++b) {
      const RunStats rs = e.run(s, [&](int mb) { return data.get(b * M + mb); });
      losses.insert(losses.end(), rs.losses.begin(), rs.losses.end());
      for (const auto& st : rs.stages)
        for (int sv : st.staleness) CHECK(sv == 0);
    }
    return std::make_pair(losses, by_name(e));
  };
  const auto reference = train(ScheduleKind::Sequential, 1);
  for (ScheduleKind kind : {ScheduleKind::GPipe, ScheduleKind::OneFOneB}) {
    for (int K : {2, 4}) {
      INFO(schedule_name(kind) << " over " << K << " stages");
      const auto run = train(kind, K);
      // The first mini-batch sees identical weights: identical arithmetic, identical losses.
      for (int i = 0; i < M; ++i) CHECK(run.first[i] == reference.first[i]);
      // Later, only the order in which M micro-batch gradients are summed differs: at most
      // ~2 M u relative per gradient element (u = 2^-24), carried into the weights by one
      // update of relative size lr * |g| / |w| << 1. Allow 64 u on the whole model.
      CHECK(rel_diff(run.second, reference.second) <= 64 * 0x1p-24);
      for (size_t i = M; i < run.first.size(); ++i)
        CHECK(run.first[i] == Approx(reference.first[i]).epsilon(1e-5));
    }
  }
}

TEST_CASE("the engine's measured staleness is the schedule's realised staleness",
          "[pipeline][engine]") {
  const ModelSpec spec = toy_spec();
  for (ScheduleKind kind : {ScheduleKind::PipeDream, ScheduleKind::GPipe, ScheduleKind::OneFOneB,
                            ScheduleKind::Naive}) {
    for (int K : {2, 3, 4}) {
      const int M = 6;
      INFO(schedule_name(kind) << " K=" << K);
      ToyData data = make_data(M, 2, 11);
      EngineOptions eo;
      eo.policy = WeightPolicy::Predict;
      eo.predictor = optim::Predictor::Nesterov;
      Engine e(spec, even_placement(spec, K), sgd(), optim::LrSchedule::constant(0.01), 1, eo);
      const Schedule s = lower(make_schedule(kind, K, M));
      const RunStats rs = e.run(s, [&](int mb) { return data.get(mb); });
      const auto expected = realised_staleness(s);
      for (int r = 0; r < K; ++r) CHECK(rs.stages[r].staleness == expected[r]);
      if (kind == ScheduleKind::PipeDream) CHECK(rs.stages[0].staleness[M / 2] == K - 1);
    }
  }
}

TEST_CASE("pipedream with weight stashing matches a reference using the versions i - s",
          "[pipeline][engine]") {
  const ModelSpec spec = toy_spec();
  const int K = 3, M = 6, per = 2;
  const double lr = 0.05, mu = 0.9;
  ToyData data = make_data(M, per, 5);
  EngineOptions eo;
  eo.policy = WeightPolicy::Stash;
  Engine e(spec, even_placement(spec, K), sgd(mu, 0.0), optim::LrSchedule::constant(lr), 9, eo);
  const Schedule s = lower(make_schedule(ScheduleKind::PipeDream, K, M));
  const auto staleness = realised_staleness(s);
  const auto initial = e.weights();
  (void)e.run(s, [&](int mb) { return data.get(mb); });

  // Reference: per stage a history of weight versions; micro-batch i's gradient is that of
  // the whole model with stage r at version i - s_r(i); stage r's update k uses the
  // gradient of micro-batch k (PipeDream steps after every backward, in order).
  const StageNet whole = build_model(spec);
  const auto placement = even_placement(spec, K);
  std::vector<std::vector<std::vector<float>>> versions(K);  // [stage][version] arena
  std::vector<std::vector<float>> momentum(K);
  for (int r = 0; r < K; ++r) {
    versions[r].push_back(initial[r]);
    momentum[r].assign(initial[r].size(), 0.f);
  }
  std::vector<float> wstate(static_cast<size_t>(whole.state.size()), 0.f);
  {
    std::vector<float> w0;
    initialize_stage(whole, 9, &w0, &wstate);
  }
  const Stream cpu = Stream::cpu();
  for (int i = 0; i < M; ++i) {
    // Assemble the whole model's arena from the stages' versions, by name.
    std::vector<float> w(static_cast<size_t>(whole.params.size()), 0.f);
    for (int r = 0; r < K; ++r) {
      const int v = i - staleness[r][i];
      REQUIRE(v >= 0);
      REQUIRE(v < static_cast<int>(versions[r].size()));
      for (const auto& entry : e.stage_net(r).params.entries()) {
        const auto& dst = whole.params.find(entry.name);
        std::copy_n(versions[r][v].begin() + entry.offset, entry.numel(), w.begin() + dst.offset);
      }
    }
    std::vector<float> g(w.size(), 0.f);
    Pass p;
    p.stream = &cpu;
    p.weights = TensorView(w.data(), DType::F32, Device::cpu(), Shape{whole.params.size()});
    p.grads = TensorView(g.data(), DType::F32, Device::cpu(), Shape{whole.params.size()});
    p.state = TensorView(wstate.data(), DType::F32, Device::cpu(), Shape{whole.state.size()});
    Saved saved;
    MicroBatch m = data.get(i);
    (void)forward_backward(whole, p, saved, m.images, m.labels);
    // SGD with momentum (PyTorch: v = g on the first step, then v = mu v + g; w -= lr v).
    for (int r = 0; r < K; ++r) {
      std::vector<float> next = versions[r].back();
      for (const auto& entry : e.stage_net(r).params.entries()) {
        const auto& src = whole.params.find(entry.name);
        for (int64_t k = 0; k < entry.numel(); ++k) {
          const float gk = g[src.offset + k];
          float& vk = momentum[r][entry.offset + k];
          vk = i == 0 ? gk : static_cast<float>(mu) * vk + gk;
          next[entry.offset + k] -= static_cast<float>(lr) * vk;
        }
      }
      versions[r].push_back(std::move(next));
    }
    (void)placement;
  }
  const auto final_weights = e.weights();
  for (int r = 0; r < K; ++r) {
    INFO("stage " << r);
    double num = 0, den = 0;
    for (size_t k = 0; k < final_weights[r].size(); ++k) {
      const double d = final_weights[r][k] - versions[r].back()[k];
      num += d * d;
      den += double(versions[r].back()[k]) * versions[r].back()[k];
    }
    // Same kernels, same order: only the optimizer's arithmetic could round differently.
    CHECK(std::sqrt(num / den) <= 16 * 0x1p-24);
  }
}

TEST_CASE("a stalled pipeline is an error that prints every stage's position",
          "[pipeline][engine]") {
  const ModelSpec spec = toy_spec();
  EngineOptions eo;
  eo.watchdog_seconds = 0.5;
  Engine e(spec, even_placement(spec, 2), sgd(), optim::LrSchedule::constant(0.01), 1, eo);
  Schedule s = lower(make_schedule(ScheduleKind::GPipe, 2, 2));
  // Drop stage 0's first send: stage 1 waits forever for micro-batch 0.
  for (size_t i = 0; i < s.actions[0].size(); ++i)
    if (s.actions[0][i].kind == ActionKind::SendAct) {
      s.actions[0].erase(s.actions[0].begin() + static_cast<long>(i));
      break;
    }
  ToyData data = make_data(2, 2, 1);
  CHECK_THROWS_WITH(e.run(s, [&](int mb) { return data.get(mb); }),
                    Catch::Contains("stalled") && Catch::Contains("stage 0") &&
                        Catch::Contains("stage 1: action") && Catch::Contains("1RA0"));
}
