// The text form of a schedule (one line of actions per stage): parsed, checked as a schedule,
// and printed back, which must parse to the same lists.
#include <algorithm>
#include <cstdint>
#include <string>

#include "pipeline/schedule_check.h"
#include "pipeline/schedule_text.h"
#include "runtime/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto lists = augur::parse_action_lists(text);
    if (augur::parse_action_lists(augur::format_action_lists(lists)) != lists) __builtin_trap();
    augur::Schedule s;
    s.kind = augur::ScheduleKind::OneFOneB;
    s.stages = static_cast<int>(lists.size());
    int64_t mb = 0;
    bool comm = false;
    for (const auto& l : lists)
      for (const auto& a : l) {
        mb = std::max<int64_t>(mb, int64_t(a.micro_batch) + 1);
        comm = comm || (a.kind != augur::ActionKind::Forward &&
                        a.kind != augur::ActionKind::Backward && a.kind != augur::ActionKind::Step);
      }
    if (mb > 4096) return 0;  // the checker's tables are per micro-batch
    s.micro_batches = static_cast<int>(mb);
    s.lowered = comm;
    s.actions = lists;
    augur::check_schedule(s);
  } catch (const augur::Error&) {
  }
  return 0;
}
