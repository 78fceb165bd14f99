// Schedule generators: pure functions from (stages K, micro-batches M) to per-stage action
// lists of F, B and Step only; `lower` (pipeline/lowering.h) adds the communication.
//
//   sequential  K = 1: F0 B0 F1 B1 ... U (gradient accumulation, one step per mini-batch).
//   naive       model parallel with one micro-batch in flight: every stage runs F_i B_i in
//               turn, so F_i+1 cannot start before B_i has come back; one step at the end.
//   gpipe       fill-drain: F_0..F_M-1, then B_M-1..B_0 (reverse order), then one step.
//   1f1b        PipeDream-Flush / Megatron: min(K-r-1, M) warm-up forwards, then one
//               forward and one backward alternately, then the remaining backwards, then one
//               step (the flush).
//   pipedream   asynchronous 1F1B without flushes: min(K-r, M) warm-up forwards, then
//               B_i U F_i+w alternately, then the remaining B_i U; a step follows every
//               backward on every stage, so staleness comes from the order of the lists.
//
// GPipe's backwards run in reverse micro-batch order, as in the GPipe paper's figure and in
// torchgpipe, which adds an explicit dependency so that micro-batch i-1's backward runs after
// micro-batch i's: the last micro-batch's backward on the last stage can start the moment its
// forward ends, and the freshest activations are consumed first. With uniform costs either
// order gives the same makespan.
#pragma once

#include "pipeline/action.h"

namespace augur {

Schedule sequential_schedule(int micro_batches);
Schedule naive_schedule(int stages, int micro_batches);
Schedule gpipe_schedule(int stages, int micro_batches);
Schedule one_f_one_b_schedule(int stages, int micro_batches);
Schedule pipedream_schedule(int stages, int micro_batches);

// Dispatches on the kind; `sequential` requires stages == 1.
Schedule make_schedule(ScheduleKind kind, int stages, int micro_batches);

// Warm-up forwards stage `stage` runs before its first backward.
int warmup_forwards(ScheduleKind kind, int stages, int stage, int micro_batches);

}  // namespace augur
