// Golden action lists, written out by hand from each schedule's definition
// (pipeline/schedule_generators.h), for small K and M.
#include <catch2/catch.hpp>

#include <string>

#include "pipeline//lowering.h"
#include "pipeline/schedule_check.h"
#include "pipeline/schedule_generators.h"
#include "pipeline/schedule_text.h"
#include "runtime/error.h"
#include "tests/pipeline/schedule_from_text.h"

using namespace augur;
using augur::test::schedule_from_text;

namespace {
std::string gen(ScheduleKind kind, int k, int m) {
  const Schedule s = make_schedule(kind, k, m);
  CHECK(s.kind == kind);
  CHECK(s.stages == k);
  CHECK(s.micro_batches == m);
  CHECK_FALSE(s.lowered);
  CHECK_NOTHROW(check_schedule(s));
  return format_schedule(s);
}
std::string lowered(ScheduleKind kind, int k, int m) {
  const Schedule s = lower(make_schedule(kind, k, m));
  CHECK(s.lowered);
  CHECK_NOTHROW(check_schedule(s));
  return format_schedule(s);
}
}  // namespace

TEST_CASE("sequential: one stage, gradient accumulation, one step", "[pipeline]") {
  CHECK(gen(ScheduleKind::Sequential, 1, 3) == "0F0 0B0 0F1 0B1 0F2 0B2 0U\n");
  CHECK(lowered(ScheduleKind::Sequential, 1, 2) == "0F0 0B0 0F1 0B1 0U\n");
  CHECK_THROWS_WITH(make_schedule(ScheduleKind::Sequential, 2, 3), Catch::Contains("one stage"));
}

TEST_CASE("naive: one micro-batch in flight, one step", "[pipeline]") {
  CHECK(gen(ScheduleKind::Naive, 2, 3) ==
        "0F0 0B0 0F1 0B1 0F2 0B2 0U\n"
        "1F0 1B0 1F1 1B1 1F2 1B2 1U\n");
  CHECK(gen(ScheduleKind::Naive, 3, 4) ==
        "0F0 0B0 0F1 0B1 0F2 0B2 0F3 0B3 0U\n"
        "1F0 1B0 1F1 1B1 1F2 1B2 1F3 1B3 1U\n"
        "2F0 2B0 2F1 2B1 2F2 2B2 2F3 2B3 2U\n");
  CHECK(lowered(ScheduleKind::Naive, 3, 2) ==
        "0F0 0SA0 0RG0 0B0 0F1 0SA1 0RG1 0B1 0U\n"
        "1RA0 1F0 1SA0 1RG0 1B0 1SG0 1RA1 1F1 1SA1 1RG1 1B1 1SG1 1U\n"
        "2RA0 2F0 2B0 2SG0 2RA1 2F1 2B1 2SG1 2U\n");
}

TEST_CASE("gpipe: all forwards, backwards in reverse order, one step", "[pipeline]") {
  CHECK(gen(ScheduleKind::GPipe, 2, 3) ==
        "0F0 0F1 0F2 0B2 0B1 0B0 0U\n"
        "1F0 1F1 1F2 1B2 1B1 1B0 1U\n");
  CHECK(gen(ScheduleKind::GPipe, 3, 4) ==
        "0F0 0F1 0F2 0F3 0B3 0B2 0B1 0B0 0U\n"
        "1F0 1F1 1F2 1F3 1B3 1B2 1B1 1B0 1U\n"
        "2F0 2F1 2F2 2F3 2B3 2B2 2B1 2B0 2U\n");
  CHECK(lowered(ScheduleKind::GPipe, 2, 2) ==
        "0F0 0SA0 0F1 0SA1 0RG1 0B1 0RG0 0B0 0U\n"
        "1RA0 1F0 1RA1 1F1 1B1 1SG1 1B0 1SG0 1U\n");
}

TEST_CASE("1f1b: K-r-1 warm-up forwards, alternation, cool-down, one step", "[pipeline]") {
  CHECK(gen(ScheduleKind::OneFOneB, 2, 3) ==
        "0F0 0F1 0B0 0F2 0B1 0B2 0U\n"
        "1F0 1B0 1F1 1B1 1F2 1B2 1U\n");
  CHECK(gen(ScheduleKind::OneFOneB, 3, 4) ==
        "0F0 0F1 0F2 0B0 0F3 0B1 0B2 0B3 0U\n"
        "1F0 1F1 1B0 1F2 1B1 1F3 1B2 1B3 1U\n"
        "2F0 2B0 2F1 2B1 2F2 2B2 2F3 2B3 2U\n");
  // Fewer micro-batches than the warm-up wants: stage 0 does them all, then drains.
  CHECK(gen(ScheduleKind::OneFOneB, 4, 2) ==
        "0F0 0F1 0B0 0B1 0U\n"
        "1F0 1F1 1B0 1B1 1U\n"
        "2F0 2F1 2B0 2B1 2U\n"
        "3F0 3B0 3F1 3B1 3U\n");
  CHECK(lowered(ScheduleKind::OneFOneB, 2, 3) ==
        "0F0 0SA0 0F1 0SA1 0RG0 0B0 0F2 0SA2 0RG1 0B1 0RG2 0B2 0U\n"
        "1RA0 1F0 1B0 1SG0 1RA1 1F1 1B1 1SG1 1RA2 1F2 1B2 1SG2 1U\n");
}

TEST_CASE("pipedream: K-r warm-up forwards, a step after every backward", "[pipeline]") {
  CHECK(gen(ScheduleKind::PipeDream, 2, 3) ==
        "0F0 0F1 0B0 0U 0F2 0B1 0U 0B2 0U\n"
        "1F0 1B0 1U 1F1 1B1 1U 1F2 1B2 1U\n");
  CHECK(gen(ScheduleKind::PipeDream, 3, 4) ==
        "0F0 0F1 0F2 0B0 0U 0F3 0B1 0U 0B2 0U 0B3 0U\n"
        "1F0 1F1 1B0 1U 1F2 1B1 1U 1F3 1B2 1U 1B3 1U\n"
        "2F0 2B0 2U 2F1 2B1 2U 2F2 2B2 2U 2F3 2B3 2U\n");
  CHECK(gen(ScheduleKind::PipeDream, 3, 1) ==
        "0F0 0B0 0U\n"
        "1F0 1B0 1U\n"
        "2F0 2B0 2U\n");
  CHECK(lowered(ScheduleKind::PipeDream, 3, 4) ==
        "0F0 0SA0 0F1 0SA1 0F2 0SA2 0RG0 0B0 0U 0F3 0SA3 0RG1 0B1 0U 0RG2 0B2 0U 0RG3 0B3 0U\n"
        "1RA0 1F0 1SA0 1RA1 1F1 1SA1 1RG0 1B0 1SG0 1U 1RA2 1F2 1SA2 1RG1 1B1 1SG1 1U "
        "1RA3 1F3 1SA3 1RG2 1B2 1SG2 1U 1RG3 1B3 1SG3 1U\n"
        "2RA0 2F0 2B0 2SG0 2U 2RA1 2F1 2B1 2SG1 2U 2RA2 2F2 2B2 2SG2 2U "
        "2RA3 2F3 2B3 2SG3 2U\n");
}

TEST_CASE("generators reject impossible sizes", "[pipeline]") {
  for (ScheduleKind k : {ScheduleKind::Naive, ScheduleKind::GPipe, ScheduleKind::OneFOneB,
                         ScheduleKind::PipeDream}) {
    CHECK_THROWS_AS(make_schedule(k, 0, 4), Error);
    CHECK_THROWS_AS(make_schedule(k, 2, 0), Error);
  }
}

TEST_CASE("lowering refuses a lowered schedule", "[pipeline]") {
  const Schedule s = lower(make_schedule(ScheduleKind::GPipe, 2, 2));
  CHECK_THROWS_WITH(lower(s), Catch::Contains("already lowered"));
  Schedule odd = make_schedule(ScheduleKind::GPipe, 2, 2);
  odd.actions[0].push_back({ActionKind::SendAct, 0, 0});
  CHECK_THROWS_WITH(lower(odd), Catch::Contains("0SA0"));
}

TEST_CASE("lowering round-trips through text", "[pipeline]") {
  for (ScheduleKind k : {ScheduleKind::Naive, ScheduleKind::GPipe, ScheduleKind::OneFOneB,
                         ScheduleKind::PipeDream}) {
    const Schedule s = lower(make_schedule(k, 4, 6));
    CHECK(parse_action_lists(format_schedule(s)) == s.actions);
  }
}

TEST_CASE("structural checks name the stage, position and action", "[pipeline]") {
  CHECK_NOTHROW(check_schedule(schedule_from_text(2, 1, "0F0 0B0 0U\n1F0 1B0 1U\n", false)));
  CHECK_THROWS_WITH(check_schedule(schedule_from_text(2, 1, "0F0 0B0 0U\n", false)),
                    Catch::Contains("1 action lists for 2 stages"));
  CHECK_THROWS_WITH(
      check_schedule(schedule_from_text(1, 1, "0F0 0B1 0B0\n", false)),
      Catch::Contains("stage 0, position 1 (0B1)") && Catch::Contains("out of range"));
  CHECK_THROWS_WITH(check_schedule(schedule_from_text(1, 1, "0B0 0F0\n", false)),
                    Catch::Contains("position 0 (0B0)") && Catch::Contains("before its forward"));
  CHECK_THROWS_WITH(check_schedule(schedule_from_text(1, 1, "0F0 0F0 0B0\n", false)),
                    Catch::Contains("position 1 (0F0)") && Catch::Contains("repeated"));
  CHECK_THROWS_WITH(check_schedule(schedule_from_text(1, 2, "0F0 0B0 0F1\n", false)),
                    Catch::Contains("no backward of micro-batch 1"));
  CHECK_THROWS_WITH(check_schedule(schedule_from_text(2, 1, "0F0 0SA0 0B0\n1F0 1B0\n", false)),
                    Catch::Contains("not marked lowered"));
  CHECK_THROWS_WITH(
      check_schedule(schedule_from_text(2, 1, "0F0 0SA0 0RG0 0B0\n1F0 1B0 1SG0\n", true)),
      Catch::Contains("stage 1, position 0 (1F0)") && Catch::Contains("no receive of its input"));
  CHECK_THROWS_WITH(
      check_schedule(schedule_from_text(2, 1, "0SA0 0F0 0RG0 0B0\n1RA0 1F0 1B0 1SG0\n", true)),
      Catch::Contains("(0SA0)") && Catch::Contains("has not produced"));
  CHECK_THROWS_WITH(
      check_schedule(schedule_from_text(2, 1, "0F0 0SA0 0RG0 0B0 0SA0\n1RA0 1F0 1B0\n", true)),
      Catch::Contains("position 4 (0SA0)") && Catch::Contains("repeated"));
  CHECK_THROWS_WITH(
      check_schedule(schedule_from_text(2, 1, "0F0 0SA0 0B0 0RG0\n1RA0 1F0 1B0 1SG0\n", true)),
      Catch::Contains("(0B0)") && Catch::Contains("no receive of its output"));
  CHECK_THROWS_WITH(check_schedule(schedule_from_text(1, 1, "0F0 0B0 0SG0\n", true)),
                    Catch::Contains("stage 0 has no previous stage"));
  CHECK_THROWS_WITH(check_schedule(schedule_from_text(1, 1, "0F0 0SA0 0B0\n", true)),
                    Catch::Contains("the last stage has no next stage"));
}
