#include "pipeline/execution_plan.h"

#include <algorithm>
#include <sstream>

#include "pipeline/staleness.h"
#include "runtime/error.h"

namespace augur {

std::string PlannedAction::str() const {
  std::ostringstream os;
  os << action.str();
  std::string tags;
  switch (action.kind) {
    case ActionKind::Forward:
      if (weights == WeightSource::Predicted)
        tags += (predict_here ? "P" : "p") + std::to_string(staleness);
      if (stash) tags += "+s";
      break;
    case ActionKind::Backward:
      tags += "s" + std::to_string(staleness);
      if (weights == WeightSource::Forward) tags += "~";
      break;
    case ActionKind::Step:
      if (predict_for >= 0)
        tags += ">" + std::to_string(predict_for) + ":" + std::to_string(horizon);
      if (keep_gradient) tags += "g";
      break;
    default: break;
  }
  if (sample_quality) tags += "q";
  if (loss) tags += "L";
  if (receive_labels) tags += "<l";
  if (send_labels) tags += ">l";
  if (!tags.empty()) os << ":" << tags;
  return os.str();
}

ExecutionPlan plan_execution(const Schedule& s, const PlanOptions& o) {
  AUGUR_ARG_CHECK(s.lowered, "the engine runs lowered schedules (explicit sends and receives)");
  AUGUR_ARG_CHECK(o.steps_before.empty() || static_cast<int>(o.steps_before.size()) == s.stages,
                  "plan_execution: steps_before has ", o.steps_before.size(), " entries for ",
                  s.stages, " stages");
  ExecutionPlan plan;
  plan.kind = s.kind;
  plan.stages = s.stages;
  plan.micro_batches = s.micro_batches;
  plan.gradient_scale = is_synchronous(s.kind) ? 1.0 / s.micro_batches : 1.0;
  // Checks the lists too: every forward and backward exactly once, each B after its F.
  plan.staleness = realised_staleness(s);
  const int K = s.stages;
  const bool predicts = forward_predicts(o.policy);
  const bool stashes = backward_reuses_forward_weights(o.policy);

  for (int r = 0; r < K; ++r) {
    const std::vector<Action>& list = s.actions[static_cast<size_t>(r)];
    const std::vector<int>& stale = plan.staleness[static_cast<size_t>(r)];
    StageExecution sp;
    sp.actions.reserve(list.size());
    int64_t steps = o.steps_before.empty() ? 0 : o.steps_before[static_cast<size_t>(r)];
    int fused_for = -1;  // the forward the last Step's prediction serves
    std::vector<bool> stashed(static_cast<size_t>(s.micro_batches), false),
        sampled(static_cast<size_t>(s.micro_batches), false);
    int in_flight = 0, stashes_held = 0;
    int pending_staleness = 0;  // of the gradients accumulated since the last step
    for (size_t i = 0; i < list.size(); ++i) {
      PlannedAction pa;
      pa.action = list[i];
      const int mb = pa.action.micro_batch;
      switch (pa.action.kind) {
        case ActionKind::Forward: {
          pa.staleness = stale[static_cast<size_t>(mb)];
          // Before a stage's first step there is nothing to extrapolate: W_hat = W_stale.
          if (predicts && pa.staleness > 0 && steps > 0) {
            pa.weights = WeightSource::Predicted;
            pa.predict_here = fused_for != mb;
            sp.predicted_buffer = true;
            pa.sample_quality = o.quality_every > 0 && mb % o.quality_every == 0;
          }
          pa.stash = stashes && pa.staleness > 0;
          stashed[static_cast<size_t>(mb)] = pa.stash;
          sampled[static_cast<size_t>(mb)] = pa.sample_quality;
          pa.send_labels = r == 0 && K > 1 && !o.last_stage_reads_labels;
          pa.receive_labels = r == K - 1 && K > 1 && !o.last_stage_reads_labels;
          pa.loss = r == K - 1;
          sp.peak_in_flight = std::max(sp.peak_in_flight, ++in_flight);
          if (pa.stash) sp.peak_stashes = std::max(sp.peak_stashes, ++stashes_held);
          break;
        }
        case ActionKind::Backward:
          pa.staleness = stale[static_cast<size_t>(mb)];
          // A backward without a stash has staleness 0: its forward used these very weights.
          pa.weights =
              stashed[static_cast<size_t>(mb)] ? WeightSource::Forward : WeightSource::Current;
          pa.stash = stashed[static_cast<size_t>(mb)];  // freed here
          pa.sample_quality = sampled[static_cast<size_t>(mb)];
          pa.send_input_gradient = r > 0;
          pending_staleness = std::max(pending_staleness, pa.staleness);
          --in_flight;
          if (pa.stash) --stashes_held;
          break;
        case ActionKind::Step: {
          ++steps;
          pa.staleness = pending_staleness;
          pending_staleness = 0;
          // The next forward before another step: this is the last step before it, so the
          // prediction for it is fused into this step's kernel.
          int next = -1;
          for (size_t j = i + 1; j < list.size(); ++j) {
            if (list[j].kind == ActionKind::Step) break;
            if (list[j].kind == ActionKind::Forward) {
              next = list[j].micro_batch;
              break;
            }
          }
          if (predicts && next >= 0 && stale[static_cast<size_t>(next)] > 0) {
            pa.predict_for = next;
            pa.horizon = stale[static_cast<size_t>(next)];
          }
          fused_for = pa.predict_for;
          // The last step of the run keeps its gradient for the next run's first forwards,
          // which predict without a step before them.
          pa.keep_gradient = predicts && next < 0 && o.predictor_reads_gradient;
          break;
        }
        default: break;
      }
      sp.actions.push_back(pa);
    }
    plan.stage.push_back(std::move(sp));
  }
  return plan;
}

std::string format_plan(const ExecutionPlan& plan) {
  std::ostringstream os;
  for (const StageExecution& sp : plan.stage) {
    for (size_t i = 0; i < sp.actions.size(); ++i) os << (i ? " " : "") << sp.actions[i].str();
    os << "\n";
  }
  return os.str();
}

}  // namespace augur
