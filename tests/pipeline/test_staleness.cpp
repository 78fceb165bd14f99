#include <catch2/catch.hpp>

#include <vector>

#include "pipeline//lowering.h"
#include "pipeline/schedule_generators.h"
#include "pipeline/schedule_text.h"
#include "pipeline/staleness.h"
#include "tests/pipeline/schedule_from_text.h"

using namespace augur;
using augur::test::schedule_from_text;
using Grid = std::vector<std::vector<int>>;

TEST_CASE("pipedream K=4 M=8: the realised staleness grid", "[pipeline]") {
  // Stage r runs w = K - r warm-up forwards with the initial weights, so micro-batch i < w
  // is i steps stale; every later forward follows a step, so the steady state and the drain
  // are w - 1 = K-1-r steps stale. The last stage is always fresh.
  const Grid expected = {
      {0, 1, 2, 3, 3, 3, 3, 3},
      {0, 1, 2, 2, 2, 2, 2, 2},
      {0, 1, 1, 1, 1, 1, 1, 1},
      {0, 0, 0, 0, 0, 0, 0, 0},
  };
  const Schedule s = make_schedule(ScheduleKind::PipeDream, 4, 8);
  CHECK(realised_staleness(s) == expected);
  CHECK(realised_staleness(lower(s)) == expected);  // communication does not move steps

  const RealisedVersions v = realised_versions(s);
  // Stage 0: F0..F3 before any step, then F4 after B0 U, F5 after B1 U, ...
  CHECK(v.forward[0] == std::vector<int>{0, 0, 0, 0, 1, 2, 3, 4});
  CHECK(v.backward[0] == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(v.forward[3] == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});

  CHECK(stash_versions(s) == std::vector<int>{4, 3, 2, 1});
  CHECK(peak_in_flight(s) == std::vector<int>{4, 3, 2, 1});
  CHECK(steps_per_stage(s) == std::vector<int>{8, 8, 8, 8});
}

TEST_CASE("pipedream with fewer micro-batches than stages", "[pipeline]") {
  // K=4, M=2: every stage's warm-up covers both micro-batches except the last stage's.
  const Schedule s = make_schedule(ScheduleKind::PipeDream, 4, 2);
  CHECK(realised_staleness(s) == Grid{{0, 1}, {0, 1}, {0, 1}, {0, 0}});
  CHECK(stash_versions(s) == std::vector<int>{1, 1, 1, 1});
  CHECK(peak_in_flight(s) == std::vector<int>{2, 2, 2, 1});
  // Too short to reach the steady state: the largest staleness is what the run has.
  CHECK(steady_staleness(s) == std::vector<int>{1, 1, 1, 0});
}

TEST_CASE("steady staleness: pipedream's K-1-r once the run is long enough, 0 when synchronous",
          "[pipeline]") {
  for (int k : {1, 2, 4, 8, 16}) {
    std::vector<int> expected;
    for (int r = 0; r < k; ++r) expected.push_back(k - 1 - r);
    CHECK(steady_staleness(make_schedule(ScheduleKind::PipeDream, k, 4 * k)) == expected);
    CHECK(steady_staleness(make_schedule(ScheduleKind::OneFOneB, k, 4)) ==
          std::vector<int>(size_t(k), 0));
  }
}

TEST_CASE("synchronous schedules are never stale", "[pipeline]") {
  for (ScheduleKind kind : {ScheduleKind::Naive, ScheduleKind::GPipe, ScheduleKind::OneFOneB}) {
    for (int k : {1, 2, 3, 5, 8})
      for (int m : {1, 2, 4, 7, 16}) {
        CAPTURE(schedule_name(kind), k, m);
        const Schedule s = make_schedule(kind, k, m);
        const Grid zero(size_t(k), std::vector<int>(size_t(m), 0));
        CHECK(realised_staleness(s) == zero);
        CHECK(stash_versions(s) == std::vector<int>(size_t(k), 1));
        CHECK(steps_per_stage(s) == std::vector<int>(size_t(k), 1));
      }
  }
  CHECK(realised_staleness(make_schedule(ScheduleKind::Sequential, 1, 5)) == Grid{{0, 0, 0, 0, 0}});
}

TEST_CASE("peak in-flight activations per schedule", "[pipeline]") {
  CHECK(peak_in_flight(make_schedule(ScheduleKind::Naive, 3, 4)) == std::vector<int>{1, 1, 1});
  CHECK(peak_in_flight(make_schedule(ScheduleKind::GPipe, 3, 4)) == std::vector<int>{4, 4, 4});
  CHECK(peak_in_flight(make_schedule(ScheduleKind::OneFOneB, 3, 4)) == std::vector<int>{3, 2, 1});
  CHECK(peak_in_flight(make_schedule(ScheduleKind::OneFOneB, 4, 2)) ==
        std::vector<int>{2, 2, 2, 1});
}

TEST_CASE("staleness follows whatever the lists say, steps anywhere", "[pipeline]") {
  // A hand-written list: micro-batch 0 sees the steps after F0 and after F1 before its B,
  // micro-batch 1 those after F1 and after B0, micro-batch 2 none.
  const Schedule s = schedule_from_text(1, 3, "0F0 0U 0F1 0U 0B0 0U 0B1 0F2 0B2\n", false,
                                        ScheduleKind::PipeDream);
  CHECK(realised_staleness(s) == Grid{{2, 2, 0}});
  const RealisedVersions v = realised_versions(s);
  CHECK(v.forward[0] == std::vector<int>{0, 1, 3});
  CHECK(v.backward[0] == std::vector<int>{2, 3, 3});
  // At F1 micro-batches 0 (version 0) and 1 (version 1) are both in flight.
  CHECK(stash_versions(s) == std::vector<int>{2});
  CHECK(peak_in_flight(s) == std::vector<int>{2});
}
