// How an engine runs: the weight policy and predictor its plans use, BatchNorm statistics,
// the loss, the watchdog, tracing and the transport between its stages.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "layers/layer.h"
#include "optim/predictor.h"
#include "optim/staleness_rules.h"
#include "pipeline/transport.h"
#include "pipeline/weight_policy.h"
#include "runtime/trace.h"

namespace augur {

struct EngineOptions {
  WeightPolicy policy = WeightPolicy::Latest;
  optim::Predictor predictor = optim::Predictor::None;
  // Per-stage staleness compensation (optim/staleness_rules.h), with each stage's steady-state
  // staleness s_r (empty: 0 everywhere; pipeline/staleness.h's steady_staleness gives it).
  optim::StalenessRules staleness_rules;
  std::vector<int> stage_staleness;
  BnStatsMode bn_stats = BnStatsMode::Micro;
  // F32, or BF16: activations, their gradients and the compute copy of the weights (current,
  // stashed, predicted) in bf16; master weights, gradients, optimizer state and statistics
  // stay f32 (design, section 6).
  DType compute_dtype = DType::F32;
  bool decay_norm_and_bias = true;  // false: no weight decay on BN and bias parameters
  double label_smoothing = 0;
  double watchdog_seconds = 300;  // a receive waiting longer than this is a stall
  int quality_every = 0;          // measure prediction quality every N micro-batches (0: never)
  // A NaN or infinite loss stops every stage and the run throws NonFiniteLoss.
  bool stop_on_non_finite_loss = true;
  TraceWriter* trace = nullptr;  // per-action events, same format as the simulator's
  // Trace tracks with data parallelism: stage r of replica d is pid r x trace_replicas + d
  // (its rank in a multi-process job), so the replicas' tracks and arrows stay apart.
  int trace_replica = 0, trace_replicas = 1;
  // Stages on the CPU take turns computing (one F, B or Step at a time): every CPU kernel
  // already spreads over the whole thread pool, so two stages computing at once only
  // oversubscribe the cores. The simulator models this as stages sharing one device.
  bool cpu_stages_take_turns = true;
  // How activations, gradients and labels move between stages; null: an in-process
  // transport over the stages' devices.
  std::shared_ptr<Transport> transport;
  // The stages this process runs (empty: all of them). With one process per stage each
  // engine holds every stage's model (initialised from the seed as one process would) but
  // runs only its own, and the last stage reads its labels from the source itself.
  std::vector<int> local_stages;
  // Adjacent sends and receives of a list go to the transport as one group (see
  // Transport::exchange). Off only to show that ungrouped issue order deadlocks under
  // in-order blocking matching.
  bool group_communication = true;
  // The shape of every micro-batch's input images (NHWC), where every run feeds the same one
  // (training drops the last partial batch). The engine then derives the shape of the
  // activation each stage receives, so a receive knows its message's size before it
  // arrives, as the NCCL transport needs. Unset: only gradients' shapes are known ahead.
  std::optional<Shape> micro_batch_input;
};

}  // namespace augur
