// Hand-written schedules for the pipeline tests: action lists in their text form ("0F0 0SA0
// ...", one line per stage) with the header fields given beside them.
#pragma once

#include <string>

#include "pipeline/action.h"
#include "pipeline/schedule_text.h"

namespace augur::test {

inline Schedule schedule_from_text(int stages, int micro_batches, const std::string& text,
                                   bool lowered = true, ScheduleKind kind = ScheduleKind::GPipe) {
  Schedule s;
  s.kind = kind;
  s.stages = stages;
  s.micro_batches = micro_batches;
  s.lowered = lowered;
  s.actions = parse_action_lists(text);
  return s;
}

}  // namespace augur::test
