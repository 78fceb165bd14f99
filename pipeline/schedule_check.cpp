#include "pipeline/schedule_check.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "runtime/error.h"

namespace augur {

namespace {

// Per micro-batch, which actions a stage has seen so far.
enum Seen : uint8_t {
  kF = 1,
  kB = 2,
  kSendAct = 4,
  kRecvAct = 8,
  kSendGrad = 16,
  kRecvGrad = 32,
};

uint8_t seen_bit(ActionKind kind) {
  switch (kind) {
    case ActionKind::Forward: return kF;
    case ActionKind::Backward: return kB;
    case ActionKind::SendAct: return kSendAct;
    case ActionKind::RecvAct: return kRecvAct;
    case ActionKind::SendGrad: return kSendGrad;
    case ActionKind::RecvGrad: return kRecvGrad;
    case ActionKind::Step: return 0;
  }
  return 0;
}

bool is_comm(ActionKind k) {
  return k == ActionKind::SendAct || k == ActionKind::RecvAct || k == ActionKind::SendGrad ||
         k == ActionKind::RecvGrad;
}

}  // namespace

void check_schedule(const Schedule& s) {
  const char* name = schedule_name(s.kind);
  AUGUR_ARG_CHECK(s.stages >= 1 && s.micro_batches >= 1, name, " schedule: ", s.stages,
                  " stages and ", s.micro_batches, " micro-batches (both must be >= 1)");
  AUGUR_ARG_CHECK(static_cast<int>(s.actions.size()) == s.stages, name,
                  " schedule: ", s.actions.size(), " action lists for ", s.stages, " stages");
  const int last = s.stages - 1;
  std::vector<uint8_t> seen(static_cast<size_t>(s.micro_batches));
  for (int r = 0; r <= last; ++r) {
    const auto& list = s.actions[static_cast<size_t>(r)];
    std::fill(seen.begin(), seen.end(), uint8_t{0});
    for (size_t p = 0; p < list.size(); ++p) {
      const Action& a = list[p];
      const auto where = [&] {
        return detail::concat(name, " schedule, stage ", r, ", position ", p, " (", a.str(), "): ");
      };
      AUGUR_ARG_CHECK(a.stage == r, where(), "the action belongs to stage ", a.stage);
      if (a.kind == ActionKind::Step) {
        AUGUR_ARG_CHECK(a.micro_batch == -1, where(), "a step carries micro-batch -1");
        continue;
      }
      AUGUR_ARG_CHECK(a.micro_batch >= 0 && a.micro_batch < s.micro_batches, where(),
                      "micro-batch out of range [0, ", s.micro_batches, ")");
      if (is_comm(a.kind)) {
        AUGUR_ARG_CHECK(s.lowered, where(), "communication in a schedule not marked lowered");
        AUGUR_ARG_CHECK(!(a.kind == ActionKind::SendAct && r == last), where(),
                        "the last stage has no next stage to send activations to");
        AUGUR_ARG_CHECK(!(a.kind == ActionKind::RecvGrad && r == last), where(),
                        "the last stage has no next stage to receive gradients from");
        AUGUR_ARG_CHECK(!(a.kind == ActionKind::RecvAct && r == 0), where(),
                        "stage 0 has no previous stage to receive activations from");
        AUGUR_ARG_CHECK(!(a.kind == ActionKind::SendGrad && r == 0), where(),
                        "stage 0 has no previous stage to send gradients to");
      }
      uint8_t& m = seen[static_cast<size_t>(a.micro_batch)];
      const uint8_t bit = seen_bit(a.kind);
      AUGUR_ARG_CHECK(!(m & bit), where(), "repeated");
      switch (a.kind) {
        case ActionKind::Forward:
          AUGUR_ARG_CHECK(!s.lowered || r == 0 || (m & kRecvAct), where(),
                          "no receive of its input activation before it");
          break;
        case ActionKind::Backward:
          AUGUR_ARG_CHECK(m & kF, where(), "backward before its forward");
          AUGUR_ARG_CHECK(!s.lowered || r == last || (m & kRecvGrad), where(),
                          "no receive of its output gradient before it");
          break;
        case ActionKind::SendAct:
          AUGUR_ARG_CHECK(m & kF, where(), "sends an activation its forward has not produced");
          break;
        case ActionKind::SendGrad:
          AUGUR_ARG_CHECK(m & kB, where(), "sends a gradient its backward has not produced");
          break;
        case ActionKind::RecvAct:
          AUGUR_ARG_CHECK(!(m & kF), where(), "receives the input after its forward ran");
          break;
        case ActionKind::RecvGrad:
          AUGUR_ARG_CHECK(!(m & kB), where(), "receives the gradient after its backward ran");
          break;
        case ActionKind::Step: break;
      }
      m |= bit;
    }
    for (int i = 0; i < s.micro_batches; ++i) {
      const uint8_t m = seen[static_cast<size_t>(i)];
      AUGUR_ARG_CHECK(m & kF, name, " schedule, stage ", r, ": no forward of micro-batch ", i);
      AUGUR_ARG_CHECK(m & kB, name, " schedule, stage ", r, ": no backward of micro-batch ", i);
    }
  }
}

}  // namespace augur
