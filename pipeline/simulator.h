// The pipeline simulator: runs a lowered schedule's lists against a cost model.
//
// Model. Every stage is one compute engine that runs its list in order: F, B and Step take
// the stage's cost and keep it busy. Stages that CostModel::device puts on the same device
// share it: a compute action waits until the device is free, and when several wait, the one
// that asked first goes first. A send never blocks the stage: it is queued on the
// stage's one communication channel (the engine's comm stream), which carries the stage's
// messages one at a time in list order, each taking latency + bytes / bandwidth, and delivers
// into an unbounded buffer at the receiver. A receive blocks the stage until the matching
// message (same micro-batch, from the neighbour) has been delivered, and costs nothing more.
// Each action's time depends only on the one before it in its list and, for a receive, on
// the matching send, so the stages are advanced by cursors in any order and the whole run is
// O(total actions). With shared devices, a cursor that reaches a compute action stops and
// asks for its device; when no cursor can move, the request that can start earliest is
// granted (no later request can start before it, since every later one follows a compute
// that has not happened yet), which costs a scan over the shared devices per grant. When no
// cursor can move, nothing is asked for and some list is unfinished, the schedule
// deadlocks: the result names every blocked stage, its position and the receive it waits on.
//
// Trace: pid = stage, tid kTraceComputeTid for F/B/Step and receive waits, tid
// kTraceCommTid for transfers; names are the actions' text ("2F0", "1SA3"); times in us; an
// arrow from each transfer to the action after its receive (message_flow, as the engine).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "pipeline/action.h"
#include "pipeline/cost_model.h"
#include "runtime/trace.h"

namespace augur {

struct SimulationOptions {
  TraceWriter* trace = nullptr;  // when set, receives one event per action that takes time
};

struct StageReport {
  double busy_us = 0;  // F + B + Step time
  double finish_us = 0;
  double utilisation = 0;  // busy / makespan
  int peak_in_flight = 0;  // micro-batches with F done and B not yet, at the peak
  int stash_versions = 0;  // weight versions the stash policy keeps at the peak
  int steps = 0;
  int staleness_min = 0, staleness_max = 0;
  double staleness_mean = 0;
};

struct Deadlock {
  std::vector<size_t> positions;  // per stage: next action (the list's size when finished)
  std::vector<int> blocked_stages;
  std::string message;  // one line per blocked stage: where it stopped and what it waits for
  std::string grid;     // format_grid of the lists with the blocking actions bracketed
};

struct SimulationResult {
  bool deadlocked = false;
  Deadlock deadlock;  // filled when deadlocked
  double makespan_us = 0;
  double bubble_fraction = 0;  // 1 - busy time / (stages x makespan)
  std::vector<StageReport> stages;
  std::vector<std::vector<int>> staleness;  // [stage][micro-batch], realised_staleness
};

// `schedule` must be lowered and pass check_schedule (else throws); `costs` needs one entry
// per stage. A deadlock is reported in the result, not thrown.
SimulationResult simulate(const Schedule& schedule, const CostModel& costs,
                          const SimulationOptions& options = {});

}  // namespace augur
