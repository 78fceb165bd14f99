// The executing pipeline engine. It plans a lowered schedule (pipeline/execution_plan.h) and
// hands each stage's annotated list to that stage's worker (pipeline/stage_worker.h), a
// thread that lives as long as the engine, bound to the stage's device (several stages may
// share one device; each has its own stream). It only executes what the plan says; the
// realised staleness is measured as steps applied between a micro-batch's F and B and
// checked against the plan. Records (losses, staleness, quality) reach an observer on the
// caller's thread while the run goes. A broken precondition or a stalled pipeline is an error
// that prints the grid of every stage's list with its position marked.
#pragma once

#include <atomic>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "models/resnet.h"
#include "optim/optimizer.h"
#include "pipeline/action.h"
#include "pipeline/engine_options.h"
#include "pipeline/execution_plan.h"
#include "pipeline/loss_head.h"
#include "pipeline/run_records.h"

namespace augur {

class StageWorker;

struct StagePlacement {
  size_t first_unit = 0, end_unit = 0;  // [first, end) of the model's units
  Device device;
};

struct StageRunStats {
  double busy_ms = 0;           // time in F, B and Step
  std::vector<int> staleness;   // per micro-batch of the run: steps between F and B
  std::vector<double> quality;  // |W_hat - W(i)| / |W_stale - W(i)| samples
  int64_t steps_done = 0;       // optimizer steps applied so far (all runs)
};

struct RunStats {
  std::vector<float> losses;  // per micro-batch, in micro-batch order
  int64_t samples = 0;
  int64_t correct_top1 = 0;
  double wall_ms = 0;
  std::vector<StageRunStats> stages;
  double mean_loss() const;
};

struct EvalStats {
  double loss_sum = 0;  // sum over samples of the per-sample loss
  int64_t samples = 0, top1 = 0, top5 = 0;
};

// A stage given directly: its layers and layouts, its device and its initial arenas.
struct StageModel {
  StageNet net;
  Device device;
  std::vector<float> weights, state;
};

class Engine {
 public:
  // A ResNet split at `placement`, initialised from `seed` as torchvision does.
  Engine(const ModelSpec& spec, std::vector<StagePlacement> placement,
         const optim::OptimizerConfig& optimizer, const optim::LrSchedule& schedule, uint64_t seed,
         EngineOptions options);
  // Any stack of layers (the last stage's output are the logits).
  Engine(std::vector<StageModel> stages, const optim::OptimizerConfig& optimizer,
         const optim::LrSchedule& schedule, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Executes a lowered schedule whose micro-batches are numbered 0..M-1 (fetched through
  // `source`, possibly from several threads). Synchronous schedules average the gradients
  // of their M micro-batches, so a mini-batch step equals one-stage training on all of them.
  // `observer`, when given, sees every record on the caller's thread while the run goes.
  RunStats run(const Schedule& lowered, const MicroBatchSource& source,
               RunObserver* observer = nullptr);
  // The plan a run of `lowered` would execute now (the stages' step counts included).
  ExecutionPlan plan(const Schedule& lowered) const;
  // Where the next runs write their per-action trace events (nullptr: none).
  void set_trace(TraceWriter* trace) { options_.trace = trace; }

  // The whole model in inference mode (running statistics), stage after stage, on a host
  // batch. Works between runs; no pipelining.
  EvalStats evaluate(const TensorView& images, const TensorView& labels);
  // Re-estimates every BatchNorm's running statistics with the current weights: the mean
  // over `batches` (host images, training-mode forwards, no gradient) of each batch's mean
  // and unbiased variance, as torch.optim.swa_utils.update_bn does. Under a stale pipeline
  // the running statistics were gathered by forwards on stale or predicted weights; this
  // measures how much of an accuracy gap is theirs. The counters are left as they were;
  // states() before and set_weights() after restore the statistics the run gathered.
  void recalibrate_batchnorm(const std::vector<TensorView>& batches);

  int stages() const;                // in the whole pipeline, this process's and others'
  bool runs_stage(int stage) const;  // in this process (EngineOptions::local_stages)
  const StageNet& stage_net(int stage) const;
  int64_t steps_done(int stage) const;
  double next_lr() const;

  // Host copies of every stage's arenas, by stage (for checkpoints and comparisons); empty
  // for the stages of other processes.
  std::vector<std::vector<float>> weights() const;
  std::vector<std::vector<float>> states() const;
  // Optimizer state arena `index` (0: momentum / first moment, 1: second moment) per stage.
  std::vector<std::vector<float>> optimizer_state(int index) const;
  void set_weights(const std::vector<std::vector<float>>& weights,
                   const std::vector<std::vector<float>>& states);
  void set_optimizer_state(int index, const std::vector<std::vector<float>>& state,
                           int64_t steps_done);
  // The gradient of each stage's last step, kept between runs for the predictors that
  // extrapolate it (empty where none is kept): part of a checkpoint.
  std::vector<std::vector<float>> last_gradients() const;
  void set_last_gradients(const std::vector<std::vector<float>>& grads);

 private:
  // Hands records to the observer until every stage is done; returns the first error, and
  // whether it is a stall (a receive past the watchdog, and nothing else failed).
  std::exception_ptr drain(RecordQueue& queue, RunObserver* observer, RunStats* result,
                           std::atomic<bool>* stop, bool* stalled);
  [[noreturn]] void fail(const Schedule& lowered, std::exception_ptr error, bool stalled);
  // The caller's own stream on `device`, for reading the loss figures back.
  const Stream& reader_for(const Device& device);

  StageWorker& worker(int stage) const;  // throws for another process's stage

  std::vector<std::unique_ptr<StageWorker>> stages_;  // this process's, in stage order
  int total_stages_ = 0;
  // Per stage: the activation it receives (EngineOptions::micro_batch_input); empty when
  // that is not set.
  std::vector<Shape> stage_inputs_;
  int64_t runs_ = 0;                                     // runs started (trace arrows' ids)
  std::vector<std::vector<Action>> rendezvous_checked_;  // the lists last proven to complete
  const TraceWriter* named_ = nullptr;                   // the trace whose tracks were named
  EngineOptions options_;
  optim::OptimizerConfig optimizer_;
  LossHead loss_;
  std::shared_ptr<Transport> transport_;
  std::map<int, Stream> readers_;  // by CUDA device index; used on the caller's thread only
  Stream cpu_reader_;
};

}  // namespace augur
