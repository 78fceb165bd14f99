#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "pipeline//lowering.h"
#include "pipeline/schedule_generators.h"
#include "pipeline/schedule_text.h"
#include "pipeline/simulation_report.h"
#include "pipeline/simulator.h"
#include "pipeline/staleness.h"
#include "runtime/error.h"
#include "tests/pipeline/schedule_from_text.h"

using namespace augur;
using augur::test::schedule_from_text;

namespace {

const ScheduleKind kPipelines[] = {ScheduleKind::Naive, ScheduleKind::GPipe, ScheduleKind::OneFOneB,
                                   ScheduleKind::PipeDream};

struct Span {
  std::string name, category;
  int pid = 0, tid = 0;
  double start = 0, end = 0;
};

// The complete events of a trace.
std::vector<Span> spans(const TraceWriter& w) {
  std::vector<Span> out;
  const auto j = w.to_json();  // kept alive: iterating a temporary's member would dangle
  for (const auto& e : j["traceEvents"]) {
    if (e["ph"] != "X") continue;
    const double ts = e["ts"].get<double>();
    out.push_back({e["name"].get<std::string>(), e["cat"].get<std::string>(), e["pid"].get<int>(),
                   e["tid"].get<int>(), ts, ts + e["dur"].get<double>()});
  }
  return out;
}

}  // namespace

TEST_CASE("simulated times by hand: two stages, one micro-batch, a costed link", "[pipeline]") {
  // F = 1, B = 2, step = 0.25 us; 1000-byte messages over a link of 1000 bytes/us and 0.5 us
  // latency take 1.5 us. Stage 0: F0 [0,1], SA0 [1,2.5]. Stage 1: F0 [2.5,3.5], B0 [3.5,5.5],
  // SG0 [5.5,7], U [5.5,5.75]. Stage 0: waits to 7, B0 [7,9], U [9,9.25].
  CostModel c = uniform_costs(2, 1, 2, 0.25, 1000);
  c.link = {0.5, 1000};
  const SimulationResult r = simulate(lower(make_schedule(ScheduleKind::GPipe, 2, 1)), c);
  REQUIRE_FALSE(r.deadlocked);
  CHECK(r.makespan_us == Approx(9.25));
  CHECK(r.stages[0].finish_us == Approx(9.25));
  CHECK(r.stages[1].finish_us == Approx(7.0));  // its channel is busy until SG0 lands
  CHECK(r.stages[0].busy_us == Approx(3.25));
  CHECK(r.stages[1].busy_us == Approx(3.25));
  CHECK(r.stages[0].utilisation == Approx(3.25 / 9.25));
  CHECK(r.bubble_fraction == Approx(1 - 6.5 / (2 * 9.25)));
}

TEST_CASE("a stage's messages share one channel, in list order", "[pipeline]") {
  // GPipe K=2 M=2, F = 1, B = 2, every message 10 us. Stage 0 sends SA0 [1,11] and SA1
  // [11,21] back to back; stage 1 runs F0 [11,12], F1 [21,22], B1 [22,24], B0 [24,26] and
  // sends SG1 [24,34], SG0 [34,44]; stage 0 runs B1 [34,36], B0 [44,46].
  CostModel c = uniform_costs(2, 1, 2, 0, 0);
  c.link = {10, 0};
  const SimulationResult r = simulate(lower(make_schedule(ScheduleKind::GPipe, 2, 2)), c);
  REQUIRE_FALSE(r.deadlocked);
  CHECK(r.makespan_us == Approx(46));
  CHECK(r.stages[1].finish_us == Approx(44));
}

TEST_CASE("no schedule deadlocks for K in 1..16 and M in 1..32", "[pipeline]") {
  CostModel costs;
  for (int k = 1; k <= 16; ++k) {
    costs = uniform_costs(k, 1.0, 2.0, 0.5, 4096);
    costs.link = LinkModel::from_gbps(100, 0.25);
    for (int m = 1; m <= 32; ++m) {
      for (ScheduleKind kind : kPipelines) {
        const SimulationResult r = simulate(lower(make_schedule(kind, k, m)), costs);
        if (r.deadlocked)
          FAIL(schedule_name(kind) << " K=" << k << " M=" << m << "\n"
                                   << r.deadlock.message << r.deadlock.grid);
        if (is_synchronous(kind)) {
          for (const auto& st : r.stages) REQUIRE(st.staleness_max == 0);
        } else {
          // Steady state: stage r's forwards are K-1-r steps behind its backwards.
          for (int s = 0; s < k; ++s)
            for (int i = k - s - 1; i < m; ++i)
              REQUIRE(r.staleness[size_t(s)][size_t(i)] == k - 1 - s);
        }
      }
      if (k == 1) {
        const SimulationResult r =
            simulate(lower(make_schedule(ScheduleKind::Sequential, 1, m)), costs);
        REQUIRE_FALSE(r.deadlocked);
        REQUIRE(r.bubble_fraction == Approx(0).margin(1e-12));
      }
    }
  }
}

TEST_CASE("gpipe and 1f1b with uniform costs: bubble = (K-1)/(M+K-1)", "[pipeline]") {
  for (const auto& fb : {std::pair<double, double>{1, 1}, {1, 2}, {3, 5}}) {
    for (int k = 1; k <= 12; ++k) {
      const CostModel costs = uniform_costs(k, fb.first, fb.second);
      for (int m = 1; m <= 24; ++m) {
        const double expected = double(k - 1) / (m + k - 1);
        for (ScheduleKind kind : {ScheduleKind::GPipe, ScheduleKind::OneFOneB}) {
          CAPTURE(schedule_name(kind), k, m, fb.first, fb.second);
          const SimulationResult r = simulate(lower(make_schedule(kind, k, m)), costs);
          REQUIRE_FALSE(r.deadlocked);
          REQUIRE(r.bubble_fraction == Approx(expected).margin(1e-12));
          REQUIRE(r.makespan_us == Approx((m + k - 1) * (fb.first + fb.second)));
        }
      }
    }
  }
}

TEST_CASE("naive keeps one micro-batch in flight: bubble (K-1)/K", "[pipeline]") {
  for (int k = 1; k <= 8; ++k) {
    const SimulationResult r =
        simulate(lower(make_schedule(ScheduleKind::Naive, k, 5)), uniform_costs(k, 1, 2));
    CHECK(r.makespan_us == Approx(5.0 * k * 3));
    CHECK(r.bubble_fraction == Approx(double(k - 1) / k).margin(1e-12));
  }
}

TEST_CASE("stages sharing a device take turns: by hand", "[pipeline]") {
  // gpipe, K = 2, M = 2, F = 1, B = 2, free links. Each stage on its own device: the textbook
  // (M + K - 1)(F + B) = 9. Both on one device: it is never idle (every wait ends with a
  // compute on the same device), so the makespan is all the compute, 2 x 2 x 3 = 12.
  const Schedule s = lower(make_schedule(ScheduleKind::GPipe, 2, 2));
  CostModel c = uniform_costs(2, 1, 2);
  CHECK(simulate(s, c).makespan_us == Approx(9));
  c.device = {0, 1};  // distinct labels: the same as none
  CHECK(simulate(s, c).makespan_us == Approx(9));
  c.device = {7, 7};
  const SimulationResult shared = simulate(s, c);
  CHECK(shared.makespan_us == Approx(12));
  CHECK_FALSE(shared.deadlocked);
  // First come, first served, ties to the lower stage: 0F1 and 1F0 both ask at 1 (1F0 when
  // 0F0's output arrives), so 0F1 goes first; 0B1 and 1B0 both ask at 6 (0B1 when 1B1's
  // gradient arrives), so 0B1 goes before 1B0.
  TraceWriter trace;
  SimulationOptions o;
  o.trace = &trace;
  (void)simulate(s, c, o);
  std::vector<std::pair<double, std::string>> order;
  for (const Span& e : spans(trace))
    if (e.category != "wait") order.emplace_back(e.start, e.name);
  std::sort(order.begin(), order.end());
  std::vector<std::string> names;
  for (const auto& [t, n] : order) names.push_back(n);
  CHECK(names == std::vector<std::string>{"0F0", "0F1", "1F0", "1F1", "1B1", "0B1", "1B0", "0B0"});
  CHECK_THROWS_WITH(simulate(s,
                             [&] {
                               CostModel bad = c;
                               bad.device = {1};
                               return bad;
                             }()),
                    Catch::Contains("device labels"));
}

TEST_CASE("on one shared device with free links the makespan is all the compute", "[pipeline]") {
  // A shared device idles only when every stage waits for a message, and with free links a
  // message arrives when the compute before its send ends: so never, short of a deadlock.
  for (ScheduleKind kind : kPipelines) {
    for (int k = 1; k <= 6; ++k) {
      for (int m = 1; m <= 8; ++m) {
        INFO(schedule_name(kind) << " K=" << k << " M=" << m);
        CostModel c;
        for (int r = 0; r < k; ++r) c.stages.push_back({1.0 + r, 2.5 + 0.5 * r, 0.25, 0, 0});
        c.device.assign(size_t(k), 3);
        const SimulationResult res = simulate(lower(make_schedule(kind, k, m)), c);
        REQUIRE_FALSE(res.deadlocked);
        double busy = 0;
        for (const StageReport& st : res.stages) busy += st.busy_us;
        CHECK(res.makespan_us == Approx(busy));
        // The staleness is the schedule's, whatever the timing.
        CHECK(res.staleness == realised_staleness(lower(make_schedule(kind, k, m))));
      }
    }
  }
}

TEST_CASE("two shared devices: each is never over-booked, and sharing only adds time",
          "[pipeline]") {
  // K = 4, stages {0,1} on one device and {2,3} on another: no two compute events of one
  // device overlap, and the makespan lies between the one-device-per-stage makespan and the
  // all-on-one-device makespan.
  for (ScheduleKind kind : kPipelines) {
    INFO(schedule_name(kind));
    const Schedule s = lower(make_schedule(kind, 4, 6));
    CostModel c = uniform_costs(4, 1.5, 3, 0.5);
    const double separate = simulate(s, c).makespan_us;
    c.device = {0, 0, 0, 0};
    const double one = simulate(s, c).makespan_us;
    c.device = {0, 0, 1, 1};
    TraceWriter trace;
    SimulationOptions o;
    o.trace = &trace;
    const double two = simulate(s, c, o).makespan_us;
    CHECK(two >= separate - 1e-9);
    CHECK(two <= one + 1e-9);
    for (int dev = 0; dev < 2; ++dev) {
      std::vector<std::pair<double, double>> busy;
      for (const Span& e : spans(trace))
        if (e.tid == kTraceComputeTid && e.category != "wait" && e.pid / 2 == dev)
          busy.emplace_back(e.start, e.end);
      std::sort(busy.begin(), busy.end());
      for (size_t i = 1; i < busy.size(); ++i) CHECK(busy[i].first >= busy[i - 1].second - 1e-9);
    }
  }
}

TEST_CASE("a receive whose send comes after a dependent receive deadlocks", "[pipeline]") {
  // Stage 0 waits for the gradient of micro-batch 0 before sending its activation.
  const Schedule s = schedule_from_text(2, 1,
                                        "0F0 0RG0 0SA0 0B0 0U\n"
                                        "1RA0 1F0 1B0 1SG0 1U\n");
  const SimulationResult r = simulate(s, uniform_costs(2, 1, 2));
  REQUIRE(r.deadlocked);
  CHECK(r.deadlock.positions == std::vector<size_t>{1, 0});
  CHECK(r.deadlock.blocked_stages == std::vector<int>{0, 1});
  CHECK_THAT(r.deadlock.message,
             Catch::Contains("stage 0 blocked at position 1 on 0RG0: waits for 1SG0, at "
                             "position 3 of stage 1, behind its blocked 1RA0") &&
                 Catch::Contains("stage 1 blocked at position 0 on 1RA0: waits for 0SA0, at "
                                 "position 2 of stage 0, behind its blocked 0RG0"));
  CHECK(r.deadlock.grid ==
        "stage 0 [1/5]: 0F0 [0RG0] 0SA0 0B0 0U   <- waits for 1SG0, at position 3 of stage 1, "
        "behind its blocked 1RA0\n"
        "stage 1 [0/5]: [1RA0] 1F0 1B0 1SG0 1U   <- waits for 0SA0, at position 2 of stage 0, "
        "behind its blocked 0RG0\n");
  CHECK_THAT(format_simulation_report(s, r),
             Catch::Contains("deadlock") && Catch::Contains("[0RG0]"));
}

TEST_CASE("a receive whose send is missing deadlocks; finished stages show done", "[pipeline]") {
  // Stage 1 never sends the gradient of micro-batch 1, so stage 0 waits for ever; stage 2
  // finishes.
  const Schedule s = schedule_from_text(3, 2,
                                        "0F0 0SA0 0F1 0SA1 0RG1 0B1 0RG0 0B0 0U\n"
                                        "1RA0 1F0 1SA0 1RA1 1F1 1SA1 1RG1 1B1 1RG0 1B0 1SG0 1U\n"
                                        "2RA0 2F0 2RA1 2F1 2B1 2SG1 2B0 2SG0 2U\n");
  const SimulationResult r = simulate(s, uniform_costs(3, 1, 2));
  REQUIRE(r.deadlocked);
  CHECK(r.deadlock.blocked_stages == std::vector<int>{0});
  CHECK(r.deadlock.positions == std::vector<size_t>{4, 12, 9});
  CHECK_THAT(r.deadlock.message,
             Catch::Contains("stage 0 blocked at position 4 on 0RG1: waits for 1SG1, which "
                             "stage 1's list does not hold"));
  CHECK_THAT(r.deadlock.grid, Catch::Contains("stage 1 [12/12]:") && Catch::Contains("done"));
}

TEST_CASE("the simulator refuses unlowered or malformed schedules", "[pipeline]") {
  const Schedule s = make_schedule(ScheduleKind::GPipe, 2, 2);
  CHECK_THROWS_WITH(simulate(s, uniform_costs(2, 1, 1)), Catch::Contains("not lowered"));
  CHECK_THROWS_WITH(simulate(lower(s), uniform_costs(3, 1, 1)),
                    Catch::Contains("3 stage costs for 2 stages"));
  CHECK_THROWS_WITH(simulate(schedule_from_text(1, 1, "0F0 0F0 0B0\n"), uniform_costs(1, 1, 1)),
                    Catch::Contains("repeated"));
}

TEST_CASE("the trace has one event per timed action, pid = stage", "[pipeline]") {
  CostModel c = uniform_costs(2, 1, 2, 0.25, 1000);
  c.link = {0.5, 1000};
  TraceWriter w;
  SimulationOptions o;
  o.trace = &w;
  simulate(lower(make_schedule(ScheduleKind::GPipe, 2, 1)), c, o);
  // Stage 0: F0, SA0, the wait at RG0, B0, U; stage 1: the wait at RA0, F0, B0, SG0, U.
  CHECK(w.size() == 10);
  const auto j = w.to_json();
  int found = 0;
  for (const auto& e : j["traceEvents"]) {
    if (e["ph"] != "X") continue;
    if (e["name"] == "0SA0") {
      CHECK(e["pid"] == 0);
      CHECK(e["tid"] == kTraceCommTid);
      CHECK(e["ts"].get<double>() == Approx(1.0));
      CHECK(e["dur"].get<double>() == Approx(1.5));
      ++found;
    }
    if (e["name"] == "1B0") {
      CHECK(e["pid"] == 1);
      CHECK(e["tid"] == kTraceComputeTid);
      CHECK(e["cat"] == "backward");
      CHECK(e["ts"].get<double>() == Approx(3.5));
      CHECK(e["args"]["micro_batch"] == 0);
      ++found;
    }
    if (e["name"] == "0RG0") {
      CHECK(e["cat"] == "wait");
      CHECK(e["ts"].get<double>() == Approx(1.0));
      CHECK(e["dur"].get<double>() == Approx(6.0));
      ++found;
    }
  }
  CHECK(found == 3);
}

TEST_CASE("the report prints the staleness grid for small runs", "[pipeline]") {
  const Schedule s = lower(make_schedule(ScheduleKind::PipeDream, 4, 8));
  const std::string text = format_simulation_report(s, simulate(s, uniform_costs(4, 1, 2)));
  CHECK_THAT(text, Catch::Contains("    0: 0 1 2 3 3 3 3 3\n") &&
                       Catch::Contains("    3: 0 0 0 0 0 0 0 0\n") &&
                       Catch::Contains("bubble fraction"));
}

TEST_CASE("1024 stages x 8192 micro-batches simulate", "[pipeline][scale]") {
  const int k = 1024, m = 8192;
  const Schedule s = lower(make_schedule(ScheduleKind::PipeDream, k, m));
  const SimulationResult r = simulate(s, uniform_costs(k, 1, 2, 0.5, 1 << 20));
  REQUIRE_FALSE(r.deadlocked);
  CHECK(r.stages[0].staleness_max == k - 1);
  CHECK(r.staleness[0][size_t(m) - 1] == k - 1);
  CHECK(r.stages[size_t(k) - 1].staleness_max == 0);
  CHECK(r.stages[0].peak_in_flight == k);
  CHECK(r.stages[0].stash_versions == k);
  CHECK(r.stages[0].steps == m);

  const SimulationResult g =
      simulate(lower(make_schedule(ScheduleKind::OneFOneB, k, m)), uniform_costs(k, 1, 2));
  REQUIRE_FALSE(g.deadlocked);
  CHECK(g.bubble_fraction == Approx(double(k - 1) / (m + k - 1)));
}

TEST_CASE("data parallelism: the all-reduce before each Step, by hand", "[pipeline]") {
  // A ring over R replicas: 2 (R - 1) rounds of bytes / R, each paying the latency once.
  AllReduceModel ar{4, {5, 100}};
  CHECK(ar.time_us(4000) == Approx(6 * (5 + 1000.0 / 100)));
  CHECK(AllReduceModel{1, {5, 100}}.time_us(4000) == 0);
  CHECK(ar.time_us(0) == 0);  // a stage without parameters has nothing to average

  // One stage: F [0,1], B [1,3], all-reduce of 1000 bytes over 2 replicas at 1000 bytes/us and
  // 0.5 us: 2 rounds x (0.5 + 500 / 1000) = 2 us, [3,5], then U [5,5.25].
  CostModel c = uniform_costs(1, 1, 2, 0.25);
  c.stages[0].gradient_arena_bytes = 1000;
  c.allreduce = {2, {0.5, 1000}};
  const Schedule one = lower(make_schedule(ScheduleKind::GPipe, 1, 1));
  TraceWriter trace;
  SimulationOptions o;
  o.trace = &trace;
  const SimulationResult r = simulate(one, c, o);
  CHECK(r.makespan_us == Approx(5.25));
  CHECK(r.stages[0].busy_us == Approx(3.25));  // the all-reduce is communication, not busy
  bool seen = false;
  for (const Span& s : spans(trace))
    if (s.category == "allreduce") {
      seen = true;
      CHECK(s.name == "0AR");
      CHECK(s.tid == kTraceCommTid);
      CHECK(s.start == Approx(3));
      CHECK(s.end == Approx(5));
    }
  CHECK(seen);
  c.allreduce.replicas = 1;
  CHECK(simulate(one, c).makespan_us == Approx(3.25));

  // Two stages on one device, free links; only stage 1 has gradients to average. 0F0 [0,1],
  // 1F0 [1,2], 1B0 [2,4]; 1's all-reduce [4,6] while 0B0 [4,6] has the device; then 0U and
  // 1U both ask at 6 and the lower stage goes first: 0U [6,6.25], 1U waits, [6.25,6.5]. Its
  // all-reduce is paid once, not again when the waiting Step resumes (that would end at 8.5).
  CostModel shared = uniform_costs(2, 1, 2, 0.25);
  shared.device = {0, 0};
  shared.stages[1].gradient_arena_bytes = 1000;
  shared.allreduce = {2, {0.5, 1000}};
  CHECK(simulate(lower(make_schedule(ScheduleKind::GPipe, 2, 1)), shared).makespan_us ==
        Approx(6.5));
}
