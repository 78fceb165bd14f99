#include <catch2/catch.hpp>

#include <string>

#include "pipeline//action.h"
#include "pipeline/schedule_text.h"
#include "runtime/error.h"
#include "tests/pipeline/schedule_from_text.h"

using namespace augur;
using augur::test::schedule_from_text;

TEST_CASE("actions print in their text form", "[pipeline]") {
  CHECK(Action{ActionKind::Forward, 2, 0}.str() == "2F0");
  CHECK(Action{ActionKind::Backward, 1, 3}.str() == "1B3");
  CHECK(Action{ActionKind::SendAct, 0, 1}.str() == "0SA1");
  CHECK(Action{ActionKind::RecvAct, 1, 1}.str() == "1RA1");
  CHECK(Action{ActionKind::SendGrad, 1, 1}.str() == "1SG1");
  CHECK(Action{ActionKind::RecvGrad, 0, 1}.str() == "0RG1");
  CHECK(Action{ActionKind::Step, 2, -1}.str() == "2U");
  CHECK(Action{ActionKind::Forward, 1023, 8191}.str() == "1023F8191");
}

TEST_CASE("actions parse back from their text form", "[pipeline]") {
  CHECK(parse_action("2F0") == Action{ActionKind::Forward, 2, 0});
  CHECK(parse_action("1B3") == Action{ActionKind::Backward, 1, 3});
  CHECK(parse_action("0SA1") == Action{ActionKind::SendAct, 0, 1});
  CHECK(parse_action("1RA1") == Action{ActionKind::RecvAct, 1, 1});
  CHECK(parse_action("1SG12") == Action{ActionKind::SendGrad, 1, 12});
  CHECK(parse_action("0RG1") == Action{ActionKind::RecvGrad, 0, 1});
  CHECK(parse_action("2U") == Action{ActionKind::Step, 2, -1});

  for (ActionKind k : {ActionKind::Forward, ActionKind::Backward, ActionKind::SendAct,
                       ActionKind::RecvAct, ActionKind::SendGrad, ActionKind::RecvGrad}) {
    for (int stage : {0, 7, 1023})
      for (int mb : {0, 5, 8191}) {
        const Action a{k, stage, mb};
        CHECK(parse_action(a.str()) == a);
      }
  }
  CHECK(parse_action(Action{ActionKind::Step, 31, -1}.str()) == Action{ActionKind::Step, 31, -1});
}

TEST_CASE("text that is not an action is rejected, naming the text", "[pipeline]") {
  for (const char* bad : {"", "F0", "U", "-1F0", "0X1", "0f1", "0F", "0SA", "0F1x", "0F-1", "0U3",
                          " 0F1", "0F 1", "0S1", "99999999999F0", "0F99999999999"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_action(bad), Error);
    CHECK_THROWS_WITH(parse_action(bad), Catch::Contains("'" + std::string(bad) + "'"));
  }
}

TEST_CASE("schedule names", "[pipeline]") {
  for (ScheduleKind k : {ScheduleKind::Sequential, ScheduleKind::Naive, ScheduleKind::GPipe,
                         ScheduleKind::OneFOneB, ScheduleKind::PipeDream})
    CHECK(parse_schedule_kind(schedule_name(k)) == k);
  CHECK(std::string(schedule_name(ScheduleKind::OneFOneB)) == "1f1b");
  CHECK_THROWS_WITH(parse_schedule_kind("zb-h1"), Catch::Contains("zb-h1"));
  CHECK(is_synchronous(ScheduleKind::GPipe));
  CHECK(is_synchronous(ScheduleKind::OneFOneB));
  CHECK(is_synchronous(ScheduleKind::Naive));
  CHECK(is_synchronous(ScheduleKind::Sequential));
  CHECK_FALSE(is_synchronous(ScheduleKind::PipeDream));
}

TEST_CASE("action lists round-trip through text", "[pipeline]") {
  const std::string text = "0F0 0SA0 0RG0 0B0 0U\n1RA0 1F0 1B0 1SG0 1U\n";
  const auto lists = parse_action_lists(text);
  REQUIRE(lists.size() == 2);
  CHECK(lists[0].size() == 5);
  CHECK(lists[1][3] == Action{ActionKind::SendGrad, 1, 0});
  CHECK(format_action_lists(lists) == text);
  CHECK(parse_action_lists("0F0\n\n2F0\n").at(1).empty());
  CHECK_THROWS_WITH(parse_action_lists("0F0\n0F1\n"),
                    Catch::Contains("line 2") && Catch::Contains("'0F1' belongs to stage 0"));
  CHECK_THROWS_WITH(parse_action_lists("0F0 0Q1\n"),
                    Catch::Contains("line 1") && Catch::Contains("'0Q1'"));
}

TEST_CASE("the grid brackets each stage's position and elides far actions", "[pipeline]") {
  const Schedule s = schedule_from_text(
      2, 1, "0F0 0SA0 0F1 0SA1 0F2 0SA2 0RG2 0B2 0RG1 0B1 0RG0 0B0 0U\n1RA0 1F0 1B0 1SG0\n");
  const std::string grid = format_grid(s, {6, 4}, {"waits for 1SG2", ""}, 2);
  CHECK(grid ==
        "stage 0 [6/13]: ... 0F2 0SA2 [0RG2] 0B2 0RG1 ...   <- waits for 1SG2\n"
        "stage 1 [4/4]: ... 1B0 1SG0 done\n");
}
