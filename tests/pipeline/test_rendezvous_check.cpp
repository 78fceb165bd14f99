// The cross-rank check: every generator's lowered lists complete under in-order blocking
// matching once adjacent communication is grouped, with 1-3 data-parallel replicas; issued
// one by one they deadlock where worked out by hand; a mismatched order is named.
#include <catch2/catch.hpp>

#include "pipeline/lowering.h"
#include "pipeline/rendezvous_check.h"
#include "pipeline/schedule_generators.h"
#include "pipeline/schedule_text.h"

using namespace augur;
using Catch::Matchers::Contains;

TEST_CASE("every generator's grouped lists complete for K <= 16, M <= 32, R <= 3",
          "[pipeline][rendezvous]") {
  int checked = 0;
  for (ScheduleKind kind :
       {ScheduleKind::Naive, ScheduleKind::GPipe, ScheduleKind::OneFOneB, ScheduleKind::PipeDream})
    for (int K = 1; K <= 16; ++K)
      for (int M = 1; M <= 32; ++M) {
        const Schedule s = lower(make_schedule(kind, K, M));
        for (int R = 1; R <= 3; ++R) {
          const RendezvousResult r = check_rendezvous(s, {R, true});
          if (!r.completes)
            FAIL(schedule_name(kind)
                 << " K=" << K << " M=" << M << " R=" << R << ": " << r.problem << "\n"
                 << r.grid);
          ++checked;
        }
      }
  CHECK(checked == 4 * 16 * 32 * 3);
  CHECK(check_rendezvous(lower(make_schedule(ScheduleKind::Sequential, 1, 8))).completes);
}

TEST_CASE("issued one by one, 1f1b at K = 2, M = 2 deadlocks at 0SA1 and 1SG0",
          "[pipeline][rendezvous]") {
  const Schedule s = lower(make_schedule(ScheduleKind::OneFOneB, 2, 2));
  const RendezvousResult r = check_rendezvous(s, {1, false});
  REQUIRE_FALSE(r.completes);
  CHECK_THAT(r.problem, Contains("deadlock"));
  REQUIRE(r.positions.size() == 2u);
  CHECK(s.actions[0][r.positions[0]].str() == "0SA1");
  CHECK(s.actions[1][r.positions[1]].str() == "1SG0");
  CHECK_THAT(r.grid, Contains("[0SA1]") && Contains("[1SG0]"));
  // Grouped, the same lists complete.
  CHECK(check_rendezvous(s, {1, true}).completes);
}

TEST_CASE("ungrouped issue order deadlocks 1f1b and pipedream for most (K, M)",
          "[pipeline][rendezvous]") {
  // The claim behind grouping, counted: not a corner case but the common one.
  for (ScheduleKind kind : {ScheduleKind::OneFOneB, ScheduleKind::PipeDream}) {
    int deadlocked = 0, cases = 0;
    for (int K = 2; K <= 8; ++K)
      for (int M = 2; M <= 16; ++M, ++cases)
        deadlocked += !check_rendezvous(lower(make_schedule(kind, K, M)), {1, false}).completes;
    INFO(schedule_name(kind) << ": " << deadlocked << " of " << cases);
    CHECK(deadlocked * 2 > cases);
  }
  // GPipe's all-forwards-then-all-backwards never crosses a send with a send.
  CHECK(check_rendezvous(lower(make_schedule(ScheduleKind::GPipe, 4, 8)), {1, false}).completes);
}

TEST_CASE("a receive order that disagrees with the sender's is a mismatch, named",
          "[pipeline][rendezvous]") {
  Schedule s = lower(make_schedule(ScheduleKind::GPipe, 2, 2));
  // Stage 1 receives activation 1 before activation 0: NCCL would hand it 0's bytes.
  auto& l = s.actions[1];
  auto a0 = std::find(l.begin(), l.end(), Action{ActionKind::RecvAct, 1, 0});
  auto a1 = std::find(l.begin(), l.end(), Action{ActionKind::RecvAct, 1, 1});
  REQUIRE(a0 != l.end());
  REQUIRE(a1 != l.end());
  std::iter_swap(a0, a1);
  const RendezvousResult r = check_rendezvous(s);
  CHECK_FALSE(r.completes);
  CHECK_THAT(r.problem, Contains("mismatched pair") && Contains("0SA0") && Contains("1RA1"));
}
