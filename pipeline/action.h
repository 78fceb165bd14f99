// A schedule is data: for each stage, the ordered list of actions it performs. Generators
// are pure functions producing these lists; a lowering pass makes communication explicit;
// the simulator and the engine read the very same lists.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace augur {

enum class ActionKind : uint8_t {
  Forward,   // F(mb): run the stage's units forward on micro-batch mb
  Backward,  // B(mb): run them backward, adding parameter gradients into the stage's arena
  SendAct,   // send the boundary activation of mb to stage + 1
  RecvAct,   // receive the boundary activation of mb from stage - 1
  SendGrad,  // send the input gradient of mb to stage - 1
  RecvGrad,  // receive the output gradient of mb from stage + 1
  Step,      // one optimizer step over the stage's arena (gradients of all B since the last)
};

struct Action {
  ActionKind kind;
  int32_t stage;
  int32_t micro_batch;  // -1 for Step
  // Text form: "<stage><code><micro-batch>", e.g. "2F0", "1B3", "0SA1" (send activation
  // of micro-batch 1), "1RA1", "1SG1", "0RG1"; a step is "<stage>U" ("2U").
  std::string str() const;
  friend bool operator==(const Action& a, const Action& b) {
    return a.kind == b.kind && a.stage == b.stage && a.micro_batch == b.micro_batch;
  }
  friend bool operator!=(const Action& a, const Action& b) { return !(a == b); }
};

// Parses the text form; throws naming the text when it is not an action.
Action parse_action(const std::string& text);

enum class ScheduleKind { Sequential, Naive, GPipe, OneFOneB, PipeDream };
ScheduleKind parse_schedule_kind(
    const std::string& name);  // "sequential|naive|gpipe|1f1b|pipedream"
const char* schedule_name(ScheduleKind kind);
const std::vector<std::string>& schedule_names();
// Synchronous schedules accumulate the gradients of all micro-batches and step once per
// mini-batch; PipeDream steps after every backward on every stage.
bool is_synchronous(ScheduleKind kind);

struct Schedule {
  ScheduleKind kind = ScheduleKind::Sequential;
  int stages = 1;
  int micro_batches = 1;
  bool lowered = false;  // true once SendAct/RecvAct/SendGrad/RecvGrad are explicit
  std::vector<std::vector<Action>> actions;  // one list per stage
};

}  // namespace augur
