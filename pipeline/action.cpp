#include "pipeline/action.h"

#include "runtime/enum_names.h"

#include <limits>

#include "runtime/error.h"

namespace augur {

namespace {

struct KindCode {
  ActionKind kind;
  const char* code;
};

// No code is a prefix of another, so the first match while parsing is the only one.
constexpr KindCode kCodes[] = {
    {ActionKind::Forward, "F"},  {ActionKind::Backward, "B"},  {ActionKind::SendAct, "SA"},
    {ActionKind::RecvAct, "RA"}, {ActionKind::SendGrad, "SG"}, {ActionKind::RecvGrad, "RG"},
    {ActionKind::Step, "U"},
};

const char* code_of(ActionKind kind) {
  for (const auto& c : kCodes)
    if (c.kind == kind) return c.code;
  AUGUR_THROW("unknown action kind ", static_cast<int>(kind));
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Reads a non-negative int32 at text[*pos]; false when there is no digit or it overflows.
bool read_number(const std::string& text, size_t* pos, int32_t* value) {
  const size_t begin = *pos;
  int64_t v = 0;
  while (*pos < text.size() && is_digit(text[*pos])) {
    v = v * 10 + (text[*pos] - '0');
    if (v > std::numeric_limits<int32_t>::max()) return false;
    ++*pos;
  }
  *value = static_cast<int32_t>(v);
  return *pos > begin;
}

}  // namespace

std::string Action::str() const {
  std::string s = std::to_string(stage) + code_of(kind);
  if (kind != ActionKind::Step) s += std::to_string(micro_batch);
  return s;
}

Action parse_action(const std::string& text) {
  const auto fail = [&](const char* why) -> Action {
    AUGUR_THROW("'", text, "' is not an action (", why,
                "); expected <stage><code><micro-batch> with code F, B, SA, RA, SG or RG, "
                "or <stage>U for a step, e.g. 2F0, 0SA1, 3U");
  };
  size_t pos = 0;
  Action a{ActionKind::Step, 0, -1};
  if (!read_number(text, &pos, &a.stage)) return fail("no stage number");
  bool found = false;
  for (const auto& c : kCodes) {
    const std::string code = c.code;
    if (text.compare(pos, code.size(), code) == 0) {
      a.kind = c.kind;
      pos += code.size();
      found = true;
      break;
    }
  }
  if (!found) return fail("unknown action code");
  if (a.kind == ActionKind::Step) {
    if (pos != text.size()) return fail("a step takes no micro-batch");
    return a;
  }
  if (!read_number(text, &pos, &a.micro_batch)) return fail("no micro-batch number");
  if (pos != text.size()) return fail("trailing characters");
  return a;
}

namespace {
const std::vector<ScheduleKind> kScheduleKinds = {ScheduleKind::Sequential, ScheduleKind::Naive,
                                                  ScheduleKind::GPipe, ScheduleKind::OneFOneB,
                                                  ScheduleKind::PipeDream};
}

ScheduleKind parse_schedule_kind(const std::string& name) {
  return parse_enum(name, kScheduleKinds, schedule_name, "pipeline schedule");
}

const std::vector<std::string>& schedule_names() {
  static const std::vector<std::string> names = enum_names(kScheduleKinds, schedule_name);
  return names;
}

const char* schedule_name(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::Sequential: return "sequential";
    case ScheduleKind::Naive: return "naive";
    case ScheduleKind::GPipe: return "gpipe";
    case ScheduleKind::OneFOneB: return "1f1b";
    case ScheduleKind::PipeDream: return "pipedream";
  }
  AUGUR_THROW("unknown schedule kind ", static_cast<int>(kind));
}

bool is_synchronous(ScheduleKind kind) {
  return kind != ScheduleKind::PipeDream;
}

}  // namespace augur
