// The planning pass on literal lists: every weight version, horizon, stash and fused
// prediction is decided before anything runs, and checked here without a model.
#include <catch2/catch.hpp>

#include "pipeline/execution_plan.h"
#include "pipeline/lowering.h"
#include "pipeline/partitioner.h"
#include "pipeline/schedule_generators.h"
#include "pipeline/staleness.h"
#include "tests/pipeline/schedule_from_text.h"

using namespace augur;
using augur::test::schedule_from_text;

namespace {

// Two stages, three micro-batches, PipeDream-style: stage 0 runs F1 before the first step,
// so micro-batches 1 and 2 are one step stale there; stage 1 is always fresh.
const char* kTwoStages =
    "0F0 0SA0 0F1 0SA1 0RG0 0B0 0U 0F2 0SA2 0RG1 0B1 0U 0RG2 0B2 0U\n"
    "1RA0 1F0 1B0 1SG0 1U 1RA1 1F1 1B1 1SG1 1U 1RA2 1F2 1B2 1SG2 1U\n";

std::string plan_text(WeightPolicy policy, int64_t steps_before, bool reads_gradient = true,
                      int quality_every = 0) {
  PlanOptions o;
  o.policy = policy;
  o.predictor_reads_gradient = reads_gradient;
  o.quality_every = quality_every;
  o.steps_before = {steps_before, steps_before};
  return format_plan(
      plan_execution(schedule_from_text(2, 3, kTwoStages, true, ScheduleKind::PipeDream), o));
}

}  // namespace

TEST_CASE("plan: literal lists under each weight policy", "[pipeline][plan]") {
  const std::string fresh_stage1 =
      "1RA0 1F0:L<l 1B0:s0 1SG0 1U 1RA1 1F1:L<l 1B1:s0 1SG1 1U 1RA2 1F2:L<l 1B2:s0 1SG2 1U";
  // predict, first run: F1 comes before any step (nothing to extrapolate: current weights);
  // the first step fuses the prediction for F2, one step ahead; the steps with no forward
  // after them keep their gradient for the next run.
  CHECK(plan_text(WeightPolicy::Predict, 0) ==
        "0F0:>l 0SA0 0F1:>l 0SA1 0RG0 0B0:s0 0U:>2:1 0F2:p1>l 0SA2 0RG1 0B1:s1 0U:g 0RG2 "
        "0B2:s1 0U:g\n" +
            fresh_stage1 + ":g\n");
  // After earlier steps, F1 predicts at the forward itself (no step of this run before it).
  CHECK(plan_text(WeightPolicy::Predict, 5) ==
        "0F0:>l 0SA0 0F1:P1>l 0SA1 0RG0 0B0:s0 0U:>2:1 0F2:p1>l 0SA2 0RG1 0B1:s1 0U:g 0RG2 "
        "0B2:s1 0U:g\n" +
            fresh_stage1 + ":g\n");
  // Nesterov reads no gradient: nothing is kept.
  CHECK(plan_text(WeightPolicy::Predict, 0, false) ==
        "0F0:>l 0SA0 0F1:>l 0SA1 0RG0 0B0:s0 0U:>2:1 0F2:p1>l 0SA2 0RG1 0B1:s1 0U 0RG2 0B2:s1 "
        "0U\n" +
            fresh_stage1 + "\n");
  // predict-stash: stale forwards keep the weights they used, and their backward uses them.
  CHECK(plan_text(WeightPolicy::PredictStash, 0) ==
        "0F0:>l 0SA0 0F1:+s>l 0SA1 0RG0 0B0:s0 0U:>2:1 0F2:p1+s>l 0SA2 0RG1 0B1:s1~ 0U:g 0RG2 "
        "0B2:s1~ 0U:g\n" +
            fresh_stage1 + ":g\n");
  // stash: no prediction; stale forwards stash the current weights.
  CHECK(plan_text(WeightPolicy::Stash, 3) ==
        "0F0:>l 0SA0 0F1:+s>l 0SA1 0RG0 0B0:s0 0U 0F2:+s>l 0SA2 0RG1 0B1:s1~ 0U 0RG2 0B2:s1~ "
        "0U\n" +
            fresh_stage1 + "\n");
  CHECK(plan_text(WeightPolicy::Latest, 3) ==
        "0F0:>l 0SA0 0F1:>l 0SA1 0RG0 0B0:s0 0U 0F2:>l 0SA2 0RG1 0B1:s1 0U 0RG2 0B2:s1 0U\n" +
            fresh_stage1 + "\n");
  // Quality is sampled where a prediction was made, at the forward and its backward.
  CHECK(plan_text(WeightPolicy::Predict, 0, false, 1) ==
        "0F0:>l 0SA0 0F1:>l 0SA1 0RG0 0B0:s0 0U:>2:1 0F2:p1q>l 0SA2 0RG1 0B1:s1 0U 0RG2 "
        "0B2:s1q 0U\n" +
            fresh_stage1 + "\n");
}

TEST_CASE("plan: a forward after a later forward of the same step predicts itself",
          "[pipeline][plan]") {
  // One stage whose step is followed by two stale forwards: the step fuses the first one's
  // prediction; the second predicts at its forward.
  const Schedule s = schedule_from_text(1, 4, "0F0 0F1 0B0 0U 0F2 0F3 0B1 0U 0B2 0B3 0U", true,
                                        ScheduleKind::PipeDream);
  PlanOptions o;
  o.policy = WeightPolicy::Predict;
  CHECK(format_plan(plan_execution(s, o)) ==
        "0F0:L 0F1:L 0B0:s0 0U:>2:1 0F2:p1L 0F3:P1L 0B1:s1 0U 0B2:s1 0B3:s1 0U\n");
}

TEST_CASE("plan: invariants for every schedule, policy and predictor, K <= 4, M <= 4",
          "[pipeline][plan]") {
  for (ScheduleKind kind : {ScheduleKind::Sequential, ScheduleKind::Naive, ScheduleKind::GPipe,
                            ScheduleKind::OneFOneB, ScheduleKind::PipeDream})
    for (int K = 1; K <= 4; ++K)
      for (int M = 1; M <= 4; ++M) {
        if (kind == ScheduleKind::Sequential && K > 1) continue;
        const Schedule s = lower(make_schedule(kind, K, M));
        const auto stale = realised_staleness(s);
        for (WeightPolicy policy : {WeightPolicy::Latest, WeightPolicy::Stash,
                                    WeightPolicy::Predict, WeightPolicy::PredictStash})
          for (bool reads : {false, true})
            for (int64_t before : {0, 2}) {
              CAPTURE(schedule_name(kind), K, M, weight_policy_name(policy), reads, before);
              PlanOptions o;
              o.policy = policy;
              o.predictor_reads_gradient = reads;
              o.steps_before.assign(size_t(K), before);
              const ExecutionPlan p = plan_execution(s, o);
              CHECK(p.staleness == stale);
              CHECK(p.gradient_scale == (is_synchronous(kind) ? 1.0 / M : 1.0));
              const std::vector<int> peak = peak_in_flight(s);
              for (int r = 0; r < K; ++r) {
                const auto& acts = p.stage[size_t(r)].actions;
                REQUIRE(acts.size() == s.actions[size_t(r)].size());
                CHECK(p.stage[size_t(r)].peak_in_flight == peak[size_t(r)]);
                int64_t steps = before;
                int last_step = -1;  // index of the last Step so far
                std::vector<int> stashed(size_t(M), -1);
                int labels_sent = 0, labels_received = 0;
                int pending = 0;  // largest staleness of the backwards since the last step
                for (size_t i = 0; i < acts.size(); ++i) {
                  const PlannedAction& a = acts[i];
                  CHECK(a.action == s.actions[size_t(r)][i]);
                  const int mb = a.action.micro_batch;
                  if (a.action.kind == ActionKind::Forward) {
                    const int sv = stale[size_t(r)][size_t(mb)];
                    const bool predicted = forward_predicts(policy) && sv > 0 && steps > 0;
                    CHECK((a.weights == WeightSource::Predicted) == predicted);
                    CHECK(a.stash == (backward_reuses_forward_weights(policy) && sv > 0));
                    stashed[size_t(mb)] = a.stash;
                    if (predicted) {
                      const bool fused =
                          last_step >= 0 && acts[size_t(last_step)].predict_for == mb;
                      CHECK(a.predict_here == !fused);
                      if (fused) CHECK(acts[size_t(last_step)].horizon == sv);
                    }
                    CHECK(a.loss == (r == K - 1));
                    labels_sent += a.send_labels;
                    labels_received += a.receive_labels;
                    if (is_synchronous(kind)) CHECK_FALSE((a.stash || predicted));
                  } else if (a.action.kind == ActionKind::Backward) {
                    CHECK((a.weights == WeightSource::Forward) == (stashed[size_t(mb)] == 1));
                    CHECK(a.send_input_gradient == (r > 0));
                    pending = std::max(pending, stale[size_t(r)][size_t(mb)]);
                  } else if (a.action.kind == ActionKind::Step) {
                    ++steps;
                    // What spike compensation reads: how late this step's gradients are.
                    CHECK(a.staleness == pending);
                    if (is_synchronous(kind)) CHECK(a.staleness == 0);
                    pending = 0;
                    last_step = static_cast<int>(i);
                    // A fused prediction serves the first forward after this step.
                    int next = -1;
                    for (size_t j = i + 1; j < acts.size(); ++j) {
                      if (acts[j].action.kind == ActionKind::Step) break;
                      if (acts[j].action.kind == ActionKind::Forward) {
                        next = acts[j].action.micro_batch;
                        break;
                      }
                    }
                    if (a.predict_for >= 0) {
                      CHECK(a.predict_for == next);
                      CHECK(a.horizon == stale[size_t(r)][size_t(next)]);
                    }
                    CHECK(a.keep_gradient == (forward_predicts(policy) && reads && next < 0));
                  }
                }
                CHECK(labels_sent == (r == 0 && K > 1 ? M : 0));
                CHECK(labels_received == (r == K - 1 && K > 1 ? M : 0));
              }
            }
      }
}

TEST_CASE("plan: the memory model equals the schedule's in-flight counts, K <= 8, M <= 8",
          "[pipeline][plan]") {
  for (ScheduleKind kind :
       {ScheduleKind::Naive, ScheduleKind::GPipe, ScheduleKind::OneFOneB, ScheduleKind::PipeDream})
    for (int K = 1; K <= 8; ++K)
      for (int M = 1; M <= 8; ++M) {
        CAPTURE(schedule_name(kind), K, M);
        const Schedule s = lower(make_schedule(kind, K, M));
        const std::vector<int> peak = peak_in_flight(s);
        for (WeightPolicy policy : {WeightPolicy::Latest, WeightPolicy::Stash,
                                    WeightPolicy::Predict, WeightPolicy::PredictStash}) {
          PlanOptions o;
          o.policy = policy;
          o.steps_before.assign(size_t(K), 1);
          const ExecutionPlan p = plan_execution(s, o);
          const MemoryModel m = memory_model_for(p, MemoryModel{});
          CHECK(m.in_flight_per_stage == peak);
          for (int r = 0; r < K; ++r) {
            // Weight copies: the master weights, W_hat where a forward predicts, and one
            // stash per stale micro-batch in flight (never more than are in flight).
            const StageExecution& st = p.stage[size_t(r)];
            CHECK(m.weight_versions_per_stage[size_t(r)] ==
                  1 + (st.predicted_buffer ? 1 : 0) + st.peak_stashes);
            CHECK(st.peak_stashes <= peak[size_t(r)]);
            if (is_synchronous(kind) || policy == WeightPolicy::Latest)
              CHECK(m.weight_versions_per_stage[size_t(r)] == 1);
          }
        }
      }
  // The case the two closed forms disagreed on: pipedream K = 4 with only M = 2.
  const Schedule s = lower(make_schedule(ScheduleKind::PipeDream, 4, 2));
  PlanOptions o;
  o.policy = WeightPolicy::Stash;
  const MemoryModel m = memory_model_for(plan_execution(s, o), MemoryModel{});
  CHECK(m.in_flight_per_stage == std::vector<int>{2, 2, 2, 1});
  CHECK(m.weight_versions_per_stage == std::vector<int>{2, 2, 2, 1});
}
