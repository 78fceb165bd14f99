#include "pipeline/lowering.h"

#include "runtime/error.h"

namespace augur {

Schedule lower(const Schedule& schedule) {
  AUGUR_ARG_CHECK(!schedule.lowered, "lower: the ", schedule_name(schedule.kind),
                  " schedule is already lowered");
  AUGUR_ARG_CHECK(static_cast<int>(schedule.actions.size()) == schedule.stages,
                  "lower: schedule has ", schedule.actions.size(), " lists for ", schedule.stages,
                  " stages");
  Schedule out;
  out.kind = schedule.kind;
  out.stages = schedule.stages;
  out.micro_batches = schedule.micro_batches;
  out.lowered = true;
  out.actions.resize(schedule.actions.size());
  const int last = schedule.stages - 1;
  for (int r = 0; r <= last; ++r) {
    const auto& in = schedule.actions[static_cast<size_t>(r)];
    auto& list = out.actions[static_cast<size_t>(r)];
    size_t computes = 0;
    for (const Action& a : in)
      computes += a.kind == ActionKind::Forward || a.kind == ActionKind::Backward;
    list.reserve(in.size() + 2 * computes);
    for (const Action& a : in) {
      switch (a.kind) {
        case ActionKind::Forward:
          if (r > 0) list.push_back({ActionKind::RecvAct, r, a.micro_batch});
          list.push_back(a);
          if (r < last) list.push_back({ActionKind::SendAct, r, a.micro_batch});
          break;
        case ActionKind::Backward:
          if (r < last) list.push_back({ActionKind::RecvGrad, r, a.micro_batch});
          list.push_back(a);
          if (r > 0) list.push_back({ActionKind::SendGrad, r, a.micro_batch});
          break;
        case ActionKind::Step: list.push_back(a); break;
        default:
          AUGUR_THROW("lower: stage ", r, " already holds the communication action ", a.str());
      }
    }
  }
  return out;
}

}  // namespace augur
