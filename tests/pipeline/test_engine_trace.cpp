// The engine's trace: a compute and a comms track per stage, named, and an arrow from every
// send to its receive with the simulator's names and ids, so a trace of a real run and one of
// its simulation can be read side by side.
#include <catch2/catch.hpp>

#include <set>

#include "pipeline/lowering.h"
#include "pipeline/schedule_generators.h"
#include "pipeline/simulator.h"
#include "tests/support/toy_pipeline.h"
#include "tests/support/trace_arrows.h"

using namespace augur;
using namespace augur::test;

TEST_CASE("the engine's trace has an arrow from every send to its receive, as the simulator's",
          "[pipeline][trace]") {
  const int K = 3, M = 4;
  const ModelSpec spec = toy_spec();
  ToyData data = make_data(M, 2, 17);
  for (ScheduleKind kind : {ScheduleKind::OneFOneB, ScheduleKind::PipeDream}) {
    INFO(schedule_name(kind));
    const Schedule s = lower(make_schedule(kind, K, M));
    TraceWriter trace;
    EngineOptions eo;
    eo.trace = &trace;
    Engine e(spec, even_placement(spec, K), sgd(), optim::LrSchedule::constant(0.05), 3, eo);
    (void)e.run(s, [&](int mb) { return data.get(mb); });
    const auto engine = arrows(trace.to_json());
    // Each stage but the last sends M activations, each but the first M gradients.
    CHECK(engine.size() == size_t(2 * (K - 1) * M));
    for (const auto& [id, a] : engine) {
      INFO(a.name);
      CHECK(a.starts == 1);
      CHECK(a.finishes == 1);
      CHECK(std::abs(a.from_pid - a.to_pid) == 1);  // between neighbours
      CHECK(a.from_ts <= a.to_ts);                  // a message arrives after it is sent
    }
    std::set<std::string> names;
    const nlohmann::json j = trace.to_json();  // kept alive: iterating a temporary would dangle
    for (const auto& e2 : j["traceEvents"])
      if (e2["ph"] == "M") names.insert(e2["args"]["name"].get<std::string>());
    CHECK(names == std::set<std::string>{"stage 0", "stage 1", "stage 2", "compute", "comms"});

    // The simulation of the same lists (every transfer costed) draws the same arrows.
    TraceWriter sim_trace;
    SimulationOptions so;
    so.trace = &sim_trace;
    CostModel c = uniform_costs(K, 1, 2, 0.25, 1000);
    c.link = {0.5, 1000};
    (void)simulate(s, c, so);
    const auto sim = arrows(sim_trace.to_json());
    REQUIRE(sim.size() == engine.size());
    for (const auto& [id, a] : sim) {
      INFO(a.name);
      REQUIRE(engine.count(id) == 1);
      CHECK(engine.at(id).name == a.name);
      CHECK(engine.at(id).from_pid == a.from_pid);
      CHECK(engine.at(id).to_pid == a.to_pid);
      CHECK(a.starts == 1);
      CHECK(a.finishes == 1);
      CHECK(a.from_ts <= a.to_ts);
    }
  }
}
