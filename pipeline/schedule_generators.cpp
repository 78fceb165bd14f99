#include "pipeline/schedule_generators.h"

#include <algorithm>

#include "runtime/error.h"

namespace augur {

namespace {

Schedule empty_schedule(ScheduleKind kind, int stages, int micro_batches) {
  AUGUR_ARG_CHECK(stages >= 1, schedule_name(kind), " schedule: stages must be >= 1, got ", stages);
  AUGUR_ARG_CHECK(micro_batches >= 1, schedule_name(kind),
                  " schedule: micro-batches must be >= 1, got ", micro_batches);
  Schedule s;
  s.kind = kind;
  s.stages = stages;
  s.micro_batches = micro_batches;
  s.actions.resize(static_cast<size_t>(stages));
  return s;
}

Action forward(int stage, int mb) {
  return {ActionKind::Forward, stage, mb};
}
Action backward(int stage, int mb) {
  return {ActionKind::Backward, stage, mb};
}
Action step(int stage) {
  return {ActionKind::Step, stage, -1};
}

}  // namespace

int warmup_forwards(ScheduleKind kind, int stages, int stage, int micro_batches) {
  switch (kind) {
    case ScheduleKind::Sequential:
    case ScheduleKind::Naive: return std::min(1, micro_batches);
    case ScheduleKind::GPipe: return micro_batches;
    case ScheduleKind::OneFOneB: return std::min(stages - stage - 1, micro_batches);
    case ScheduleKind::PipeDream: return std::min(stages - stage, micro_batches);
  }
  AUGUR_THROW("unknown schedule kind ", static_cast<int>(kind));
}

Schedule sequential_schedule(int micro_batches) {
  Schedule s = naive_schedule(1, micro_batches);
  s.kind = ScheduleKind::Sequential;
  return s;
}

Schedule naive_schedule(int stages, int micro_batches) {
  Schedule s = empty_schedule(ScheduleKind::Naive, stages, micro_batches);
  for (int r = 0; r < stages; ++r) {
    auto& list = s.actions[static_cast<size_t>(r)];
    list.reserve(2 * static_cast<size_t>(micro_batches) + 1);
    for (int i = 0; i < micro_batches; ++i) {
      list.push_back(forward(r, i));
      list.push_back(backward(r, i));
    }
    list.push_back(step(r));
  }
  return s;
}

Schedule gpipe_schedule(int stages, int micro_batches) {
  Schedule s = empty_schedule(ScheduleKind::GPipe, stages, micro_batches);
  for (int r = 0; r < stages; ++r) {
    auto& list = s.actions[static_cast<size_t>(r)];
    list.reserve(2 * static_cast<size_t>(micro_batches) + 1);
    for (int i = 0; i < micro_batches; ++i) list.push_back(forward(r, i));
    for (int i = micro_batches - 1; i >= 0; --i) list.push_back(backward(r, i));
    list.push_back(step(r));
  }
  return s;
}

Schedule one_f_one_b_schedule(int stages, int micro_batches) {
  Schedule s = empty_schedule(ScheduleKind::OneFOneB, stages, micro_batches);
  for (int r = 0; r < stages; ++r) {
    auto& list = s.actions[static_cast<size_t>(r)];
    list.reserve(2 * static_cast<size_t>(micro_batches) + 1);
    const int w = warmup_forwards(ScheduleKind::OneFOneB, stages, r, micro_batches);
    for (int i = 0; i < w; ++i) list.push_back(forward(r, i));
    for (int i = 0; i + w < micro_batches; ++i) {
      list.push_back(forward(r, i + w));
      list.push_back(backward(r, i));
    }
    for (int i = micro_batches - w; i < micro_batches; ++i) list.push_back(backward(r, i));
    list.push_back(step(r));
  }
  return s;
}

Schedule pipedream_schedule(int stages, int micro_batches) {
  Schedule s = empty_schedule(ScheduleKind::PipeDream, stages, micro_batches);
  for (int r = 0; r < stages; ++r) {
    auto& list = s.actions[static_cast<size_t>(r)];
    list.reserve(3 * static_cast<size_t>(micro_batches));
    const int w = warmup_forwards(ScheduleKind::PipeDream, stages, r, micro_batches);
    for (int i = 0; i < w; ++i) list.push_back(forward(r, i));
    for (int i = 0; i < micro_batches; ++i) {
      list.push_back(backward(r, i));
      list.push_back(step(r));
      if (i + w < micro_batches) list.push_back(forward(r, i + w));
    }
  }
  return s;
}

Schedule make_schedule(ScheduleKind kind, int stages, int micro_batches) {
  switch (kind) {
    case ScheduleKind::Sequential:
      AUGUR_ARG_CHECK(stages == 1, "the sequential schedule runs on one stage, got ", stages,
                      " stages (use naive, gpipe, 1f1b or pipedream)");
      return sequential_schedule(micro_batches);
    case ScheduleKind::Naive: return naive_schedule(stages, micro_batches);
    case ScheduleKind::GPipe: return gpipe_schedule(stages, micro_batches);
    case ScheduleKind::OneFOneB: return one_f_one_b_schedule(stages, micro_batches);
    case ScheduleKind::PipeDream: return pipedream_schedule(stages, micro_batches);
  }
  AUGUR_THROW("unknown schedule kind ", static_cast<int>(kind));
}

}  // namespace augur
