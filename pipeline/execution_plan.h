// The planning pass: a pure function of a lowered schedule, the weight policy and the
// predictor that decides, before anything runs, everything the engine's stage workers do
// beyond executing the action itself (design section 6):
//   F     which weights it computes with (current, predicted, a stash of either), the
//         prediction horizon, whether the prediction is made here or was fused into the
//         last Step, whether to stash, whether to sample prediction quality, and who moves
//         the labels;
//   B     the realised staleness, which weights it computes with, when the stash is freed;
//   Step  which forward its fused prediction serves (and the horizon), and whether it
//         keeps its gradient for the next run's first predictions.
// The engine reads these annotations and decides nothing itself, so the weight-version logic
// (the heart of Augur) is tested on literal lists without running a model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/action.h"
#include "pipeline/weight_policy.h"

namespace augur {

enum class WeightSource : uint8_t {
  Current,    // the stage's master weights as they are when the action runs
  Predicted,  // W_hat, predicted `horizon` steps ahead
  Forward,    // (backward only) exactly the weights its forward used, kept in a stash
};

struct PlannedAction {
  Action action;
  // F and B: the micro-batch's realised staleness on this stage (b - a); Step: the largest
  // of the backwards it applies (since the stage's previous step), what spike compensation
  // reads.
  int staleness = 0;
  // F: the weights it computes with; B: Current, or Forward under a stashing policy.
  WeightSource weights = WeightSource::Current;
  // F with Predicted weights: true when no Step of this run wrote W_hat for this forward
  // (the first forwards after an earlier run), so the forward predicts from the state the
  // last step left.
  bool predict_here = false;
  bool stash = false;                // F: copy the weights it used for its backward (freed at B)
  bool sample_quality = false;       // F: keep W_stale and W_hat; B: measure the quality
  bool send_labels = false;          // F on stage 0 of a multi-stage pipeline
  bool receive_labels = false;       // F on the last stage of a multi-stage pipeline
  bool loss = false;                 // F on the last stage: the loss and its gradient
  bool send_input_gradient = false;  // B on stages > 0: its input gradient goes upstream
  // Step: the micro-batch whose forward the fused prediction serves (-1: none) and its
  // horizon; keep_gradient: copy the step's gradient before zeroing it.
  int predict_for = -1;
  int horizon = 0;
  bool keep_gradient = false;

  // Text form for tests and error reports: the action, then its annotations, e.g.
  // "1F3:p2" (predicted 2 ahead, fused into the last step), "1F3:P2+s" (predicted at the
  // forward, stashed), "1B3:s2~" (staleness 2, forward's weights), "1U>4:2" (fused
  // prediction for F4, 2 ahead), "1U:g" (keeps its gradient). Flags: q quality, L loss,
  // <l/>l labels received/sent.
  std::string str() const;
};

struct StageExecution {
  std::vector<PlannedAction> actions;
  int peak_in_flight = 0;         // forwards whose backward has not run, at the worst moment
  int peak_stashes = 0;           // weight copies held at once for backwards (stash policies)
  bool predicted_buffer = false;  // a W_hat arena is needed
};

struct PlanOptions {
  WeightPolicy policy = WeightPolicy::Latest;
  // The predictor is named by what the plan needs of it: whether it predicts at all, and
  // whether it reads the last step's gradient (optim::predictor_reads_gradient).
  bool predictor_active = false;  // not Predictor::None
  bool predictor_reads_gradient = false;
  int quality_every = 0;  // sample prediction quality every N micro-batches (0: never)
  // Optimizer steps each stage applied before this run (empty: none). Before a stage's
  // first step there is nothing to extrapolate, so its forwards use the current weights.
  std::vector<int64_t> steps_before;
  // The last stage reads each micro-batch's labels from the source itself instead of
  // receiving them from stage 0 (stages in different processes: every process has the data).
  bool last_stage_reads_labels = false;
};

struct ExecutionPlan {
  ScheduleKind kind = ScheduleKind::Sequential;
  int stages = 0;
  int micro_batches = 0;
  // Synchronous schedules accumulate M micro-batch gradients and step once; scaling each
  // loss gradient by 1/M makes that step equal one-stage training on the whole mini-batch.
  double gradient_scale = 1.0;
  std::vector<StageExecution> stage;
  std::vector<std::vector<int>> staleness;  // [stage][micro-batch], as realised_staleness
};

// Validates the lists (check_schedule) and annotates every action.
ExecutionPlan plan_execution(const Schedule& lowered, const PlanOptions& options);

// One line per stage of annotated actions (PlannedAction::str), for tests and reports.
std::string format_plan(const ExecutionPlan& plan);

}  // namespace augur
