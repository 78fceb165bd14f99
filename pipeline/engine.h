// The executing pipeline engine. It runs the lowered action lists of a schedule, one worker
// thread per stage, with the stages' layers on their devices (several stages may share one
// device; each stage has its own streams). It only executes: staleness is whatever the lists
// make it, measured as steps applied between a micro-batch's F and B on each stage, and a
// broken precondition or a stalled pipeline is an error that prints every stage's position
// in its list.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "layers/softmax_cross_entropy.h"
#include "models/resnet.h"
#include "models/safetensors.h"
#include "optim/optimizer.h"
#include "pipeline/action.h"
#include "pipeline/transport.h"
#include "pipeline/weight_policy.h"
#include "runtime/trace.h"

namespace augur {

struct EngineOptions {
  WeightPolicy policy = WeightPolicy::Latest;
  optim::Predictor predictor = optim::Predictor::None;
  BnStatsMode bn_stats = BnStatsMode::Micro;
  bool decay_norm_and_bias = true;  // false: no weight decay on BN and bias parameters
  double label_smoothing = 0;
  double watchdog_seconds = 300;  // a receive waiting longer than this is a stall
  int quality_every = 0;          // measure prediction quality every N micro-batches (0: never)
  TraceWriter* trace = nullptr;   // per-action events, same format as the simulator's
  // Stages on the CPU take turns computing (one F, B or Step at a time): every CPU kernel
  // already spreads over the whole thread pool, so two stages computing at once only
  // oversubscribe the cores. The simulator models this as stages sharing one device.
  bool cpu_stages_take_turns = true;
  // Called on the last stage's thread after each micro-batch's loss is known (micro-batch,
  // loss, samples, top-1 correct). An exception thrown here stops the run with that error.
  std::function<void(int, float, int64_t, int64_t)> on_loss;
  // Called on a stage's thread after each backward: (stage, micro-batch, realised staleness,
  // prediction quality of this micro-batch or NaN when not sampled, the stage's busy time in
  // this run so far in ms).
  std::function<void(int, int, int, double, double)> on_backward;
};

struct StagePlacement {
  size_t first_unit = 0, end_unit = 0;  // [first, end) of the model's units
  Device device;
};

// A micro-batch as the data pipeline delivers it: host (ideally pinned) NHWC f32 images and
// i64 labels. The engine copies images to stage 0's device and labels to the last stage's.
struct MicroBatch {
  TensorView images;
  TensorView labels;
  std::shared_ptr<const void> keep_alive;  // owner of the views' memory, if any
};
using MicroBatchSource = std::function<MicroBatch(int micro_batch)>;

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
  RunStats run(const Schedule& lowered, const MicroBatchSource& source);
  // Where the next runs write their per-action trace events (nullptr: none).
  void set_trace(TraceWriter* trace) { options_.trace = trace; }

  // The whole model in inference mode (running statistics), stage after stage, on a host
  // batch. Works between runs; no pipelining.
  EvalStats evaluate(const TensorView& images, const TensorView& labels);

  int stages() const;
  const StageNet& stage_net(int stage) const;
  int64_t steps_done(int stage) const;
  double next_lr() const;

  // Host copies of every stage's arenas, by stage (for checkpoints and comparisons).
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

  // The model under torchvision names (parameters and buffers of every stage).
  void export_model(SafetensorsWriter* out) const;

  struct StageState;

 private:
  std::vector<std::unique_ptr<StageState>> stages_;
  EngineOptions options_;
  SoftmaxCrossEntropy loss_;
};

}  // namespace augur
