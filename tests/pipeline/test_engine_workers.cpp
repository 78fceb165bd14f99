// The engine's structure, observed from outside: stage threads that persist across runs, an
// injected transport that changes nothing, records on the caller's thread, a NaN loss that
// stops every stage, and a failure that prints the grid.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "pipeline/engine.h"
#include "pipeline/lowering.h"
#include "pipeline/schedule_generators.h"
#include "tests/support/toy_pipeline.h"

using namespace augur;
using namespace augur::test;
using Catch::Matchers::Contains;

namespace {

// Forwards to an in-process transport and notes which thread sent from each stage.
class RecordingTransport : public Transport {
 public:
  explicit RecordingTransport(std::vector<Device> devices) : inner_(std::move(devices)) {}
  void send(int from, int to, MessageKind kind, int mb, const TensorView& data, Tensor owned,
            const Stream& stream) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      senders[from].insert(std::this_thread::get_id());
      ++messages[kind];
    }
    inner_.send(from, to, kind, mb, data, std::move(owned), stream);
  }
  Message receive(int stage, MessageKind kind, int mb, const Stream& stream,
                  std::chrono::steady_clock::time_point deadline) override {
    return inner_.receive(stage, kind, mb, stream, deadline);
  }
  void abort(const std::string& why) override { inner_.abort(why); }
  void begin_run() override { inner_.begin_run(); }

  std::mutex mutex_;
  std::map<int, std::set<std::thread::id>> senders;
  std::map<MessageKind, int> messages;

 private:
  InProcessTransport inner_;
};

class CountingObserver : public RunObserver {
 public:
  void on_record(const MicroBatchRecord& r) override {
    threads.insert(std::this_thread::get_id());
    if (r.kind == MicroBatchRecord::Kind::Loss)
      losses.push_back(r.loss);
    else
      ++backwards[r.stage];
  }
  std::set<std::thread::id> threads;
  std::vector<float> losses;
  std::map<int, int> backwards;
};

}  // namespace

TEST_CASE(
    "an injected transport gives the default transport's results bit for bit, and the "
    "stage threads persist across runs",
    "[pipeline][engine]") {
  const ModelSpec spec = toy_spec();
  const int K = 3, M = 4, runs = 3;
  ToyData data = make_data(M * runs, 2, 5);
  for (ScheduleKind kind : {ScheduleKind::GPipe, ScheduleKind::PipeDream}) {
    INFO(schedule_name(kind));
    EngineOptions eo;
    eo.policy = WeightPolicy::PredictStash;
    eo.predictor = optim::Predictor::ConstantGradient;
    const Schedule s = lower(make_schedule(kind, K, M));
    auto train = [&](std::shared_ptr<Transport> transport) {
      EngineOptions o = eo;
      o.transport = transport;
      Engine e(spec, even_placement(spec, K), sgd(), optim::LrSchedule::constant(0.05), 3, o);
      std::vector<float> losses;
      for (int b = 0; b < runs; ++b) {
        const RunStats rs = e.run(s, [&](int mb) { return data.get(b * M + mb); });
        losses.insert(losses.end(), rs.losses.begin(), rs.losses.end());
      }
      return std::make_pair(losses, e.weights());
    };
    const auto reference = train(nullptr);
    auto recording = std::make_shared<RecordingTransport>(std::vector<Device>(K, Device::cpu()));
    const auto injected = train(recording);
    CHECK(injected.first == reference.first);
    CHECK(injected.second == reference.second);
    // Every stage sent from one thread of its own over all runs, never the caller's.
    std::set<std::thread::id> all;
    for (int r = 0; r < K; ++r) {
      CHECK(recording->senders[r].size() == 1);
      all.insert(recording->senders[r].begin(), recording->senders[r].end());
    }
    CHECK(all.size() == size_t(K));
    CHECK_FALSE(all.count(std::this_thread::get_id()));
    // Activations and gradients between neighbours, labels from stage 0 to the last.
    CHECK(recording->messages[MessageKind::Activation] == runs * M * (K - 1));
    CHECK(recording->messages[MessageKind::Gradient] == runs * M * (K - 1));
    CHECK(recording->messages[MessageKind::Labels] == runs * M);
  }
}

TEST_CASE("records reach the observer on the caller's thread", "[pipeline][engine]") {
  const ModelSpec spec = toy_spec();
  const int K = 3, M = 5;
  ToyData data = make_data(M, 2, 9);
  EngineOptions eo;
  eo.policy = WeightPolicy::Predict;
  eo.predictor = optim::Predictor::Nesterov;
  Engine e(spec, even_placement(spec, K), sgd(), optim::LrSchedule::constant(0.05), 3, eo);
  CountingObserver seen;
  const RunStats rs = e.run(
      lower(make_schedule(ScheduleKind::PipeDream, K, M)), [&](int mb) { return data.get(mb); },
      &seen);
  CHECK(seen.threads == std::set<std::thread::id>{std::this_thread::get_id()});
  CHECK(seen.losses.size() == size_t(M));
  for (int r = 0; r < K; ++r) CHECK(seen.backwards[r] == M);
  // The same losses, in the order the last stage produced them (micro-batch order).
  CHECK(seen.losses == rs.losses);
  for (const StageRunStats& st : rs.stages) {
    CHECK(st.busy_ms > 0);
    CHECK(st.busy_ms <= rs.wall_ms);
  }
}

TEST_CASE("a NaN loss stops every stage and the engine runs again afterwards",
          "[pipeline][engine]") {
  const ModelSpec spec = toy_spec();
  const int K = 3, M = 12;
  ToyData data = make_data(M, 2, 13);
  // A learning rate of 1e12 blows the weights up within a few steps (as in the CLI test).
  Engine e(spec, even_placement(spec, K), sgd(), optim::LrSchedule::constant(1e12), 3,
           EngineOptions{});
  const Schedule s = lower(make_schedule(ScheduleKind::PipeDream, K, M));
  int first_bad = -1;
  try {
    (void)e.run(s, [&](int mb) { return data.get(mb); });
    FAIL("a non-finite loss did not stop the run");
  } catch (const NonFiniteLoss& err) {
    first_bad = err.micro_batch;
    CHECK_FALSE(std::isfinite(err.loss));
    CHECK_THAT(err.what(),
               Contains("loss became") && Contains("at micro-batch " + std::to_string(first_bad)));
  }
  CHECK(first_bad > 0);
  CHECK(first_bad < M);
  // The stage threads are alive and the transport is reset: the next run goes (and stops
  // at once, the weights being non-finite now) instead of hanging.
  CHECK_THROWS_AS(e.run(s, [&](int mb) { return data.get(mb); }), NonFiniteLoss);
  // Without the option the run completes and reports the non-finite losses.
  EngineOptions lenient;
  lenient.stop_on_non_finite_loss = false;
  Engine f(spec, even_placement(spec, K), sgd(), optim::LrSchedule::constant(1e12), 3, lenient);
  const RunStats rs = f.run(s, [&](int mb) { return data.get(mb); });
  CHECK_FALSE(std::isfinite(rs.losses[static_cast<size_t>(first_bad)]));
}

TEST_CASE("a failing action stops the run and prints the grid with that action marked",
          "[pipeline][engine]") {
  const ModelSpec spec = toy_spec();
  ToyData data = make_data(4, 2, 17);
  Engine e(spec, even_placement(spec, 2), sgd(), optim::LrSchedule::constant(0.05), 3,
           EngineOptions{});
  const Schedule s = lower(make_schedule(ScheduleKind::GPipe, 2, 4));
  auto source = [&](int mb) {
    if (mb == 2) throw Error("the data source failed at micro-batch 2");
    return data.get(mb);
  };
  CHECK_THROWS_WITH(e.run(s, source), Contains("the data source failed at micro-batch 2") &&
                                          Contains("stage 0 [") && Contains("[0F2]"));
  // The next run starts clean.
  CHECK(e.run(s, [&](int mb) { return data.get(mb); }).losses.size() == 4);
}

TEST_CASE("many short runs in a row all finish (the record queue outlives its last notify)",
          "[pipeline][engine]") {
  // Each run's record queue lives on the caller's stack, and the next run builds its queue
  // in the same place. A stage that notified the reader after letting go of the queue's lock
  // could touch the queue after the reader had returned: once in some thousand runs it hung
  // inside pthread_cond_signal. Short runs make the window as wide as it gets; a hang is
  // caught by the CTest timeout, a stray record by the checks below.
  const ModelSpec spec = toy_spec();
  const int K = 2, M = 1;
  ToyData data = make_data(M, 2, 13);
  Engine e(spec, even_placement(spec, K), sgd(), optim::LrSchedule::constant(0.0), 3, {});
  const Schedule s = lower(make_schedule(ScheduleKind::OneFOneB, K, M));
  const MicroBatchSource source = [&](int mb) { return data.get(mb); };
  const float first = e.run(s, source).losses.at(0);
  int runs = 0;
  for (; runs < 2000; ++runs) {
    const RunStats rs = e.run(s, source);
    if (rs.losses.size() != 1 || rs.losses[0] != first) break;  // lr 0: the same loss each run
  }
  CHECK(runs == 2000);
}
