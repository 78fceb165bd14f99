// One pipeline stage at work: its layers and arenas on its device, its optimizer, the
// micro-batches it has in flight, and the thread that runs its action lists. The thread is
// created with the stage and lives as long as the engine, across mini-batches and epochs;
// it binds the stage's device for its whole life. Each action kind has its own method, and
// every decision about weight versions comes from the plan (pipeline/execution_plan.h).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "models/resnet.h"
#include "optim/optimizer.h"
#include "pipeline/cpu_turn.h"
#include "pipeline/execution_plan.h"
#include "pipeline/loss_head.h"
#include "pipeline/run_records.h"
#include "pipeline/transport.h"
#include "runtime/trace.h"

namespace augur {

struct EngineOptions;

// What every worker of one run shares.
struct RunContext {
  const ExecutionPlan* plan = nullptr;
  const MicroBatchSource* source = nullptr;
  Transport* transport = nullptr;
  const EngineOptions* options = nullptr;
  const LossHead* loss = nullptr;
  CpuTurn* cpu_turn = nullptr;  // held by the CPU stage computing (stages take turns)
  RecordQueue* records = nullptr;
  std::atomic<bool>* stop = nullptr;  // set when the run is being abandoned
  // Per stage: the shape of the activation it receives (EngineOptions::micro_batch_input);
  // null when not known ahead.
  const std::vector<Shape>* stage_inputs = nullptr;
  int64_t run_index = 0;  // the engine's runs so far (trace arrows' ids)
};

class StageWorker {
 public:
  StageWorker(int index, StageNet net, const Device& device, const std::vector<float>& weights,
              const std::vector<float>& state, const optim::OptimizerConfig& optimizer,
              const optim::LrSchedule& schedule, bool decay_norm_and_bias,
              DType compute_dtype = DType::F32);
  ~StageWorker();
  StageWorker(const StageWorker&) = delete;
  StageWorker& operator=(const StageWorker&) = delete;

  // Hands the stage its part of a run; the thread runs it and pushes a Done record (with
  // the error, if any) when the list ends or fails.
  void start(const RunContext& context);

  int index() const { return index_; }
  const Device& device() const { return device_; }
  const Stream& stream() const { return stream_; }
  const StageNet& net() const { return net_; }
  optim::Optimizer& optimizer() { return *opt_; }
  const optim::Optimizer& optimizer() const { return *opt_; }
  // The f32 master weights: what the optimizer updates and checkpoints hold.
  const Tensor& weights() const { return weights_; }
  // The weights passes compute with: the master weights in f32 mode, their bf16 copy in bf16
  // mode (design, section 6). After writing the master weights from outside (the engine's
  // set_weights), refresh_compute_weights() makes the copy follow.
  DType compute_dtype() const { return compute_dtype_; }
  TensorView compute_weights() const {
    return compute_dtype_ == DType::F32 ? weights_.view() : compute_.view();
  }
  void refresh_compute_weights();
  // `input` on this stage's device in the compute dtype (a new tensor).
  Tensor compute_input(const TensorView& input) const;
  const Tensor& state() const { return state_; }
  const Tensor& grads() const { return grads_; }
  Tensor& last_gradients() { return last_grads_; }
  const Tensor& last_gradients() const { return last_grads_; }

  // Where the list stands (for the grid printed on failure) and what the run measured.
  size_t position() const { return position_.load(); }
  const std::vector<int>& staleness() const { return staleness_; }
  const std::vector<double>& quality() const { return quality_; }
  // Busy time of the first `pairs` compute actions of the current run, from event pairs
  // (waits for them on the caller's thread; the stage never waits).
  double busy_ms(size_t pairs);
  size_t busy_pairs() const;
  // Drops what a failed run left in flight.
  void clear_in_flight() { inflight_.clear(); }
  size_t in_flight() const { return inflight_.size(); }

 private:
  // This stage's tracks in a trace (EngineOptions::trace_replicas).
  int trace_pid(const EngineOptions& o) const;
  struct InFlight {
    Saved saved;
    MicroBatch batch;  // stage 0: the fetched data
    Tensor input;      // stage 0: the images on this device
    Message received;  // stages > 0: the activation
    TensorView output;
    TensorView forward_weights;
    Tensor stash;
    int64_t steps_at_forward = 0;
    Tensor dlogits;
    Message grad_in;
    Tensor dx;
    Tensor w_stale, w_hat;  // prediction-quality samples
  };

  void thread_main();
  void execute(const RunContext& c);
  void forward(const PlannedAction& a, const RunContext& c);
  void backward(const PlannedAction& a, const RunContext& c);
  void step(const PlannedAction& a, const RunContext& c);
  // Actions [begin, end) of the list: sends and receives, issued as one transport group.
  void communicate(const std::vector<PlannedAction>& actions, size_t begin, size_t end,
                   const RunContext& c);
  Pass pass(const TensorView& w, BnStatsMode bn) const;
  Tensor take_stash();
  void ensure_predicted();

  int index_;
  Device device_;
  StageNet net_;
  Stream stream_;
  Tensor weights_, grads_, state_;
  DType compute_dtype_ = DType::F32;
  Tensor compute_;  // bf16 mode: the bf16 copy of weights_
  std::unique_ptr<optim::Optimizer> opt_;
  Tensor predicted_;   // W_hat for the next forward, when the policy predicts
  Tensor last_grads_;  // the last step's gradient, for the next run's first predictions
  std::vector<Tensor> stash_pool_;
  std::map<int, InFlight> inflight_;
  std::vector<int> staleness_;
  std::vector<double> quality_;
  std::atomic<size_t> position_{0};

  struct BusyPair {
    Event start, end;
    double ms = -1;  // resolved
  };
  mutable std::mutex busy_mutex_;
  std::deque<BusyPair> busy_;
  size_t busy_recorded_ = 0;  // pairs whose end event is recorded
  double busy_resolved_ms_ = 0;
  size_t busy_resolved_ = 0;

  std::mutex job_mutex_;
  std::condition_variable job_cv_;
  bool has_job_ = false, quit_ = false;
  RunContext job_;
  std::thread thread_;
};

}  // namespace augur
