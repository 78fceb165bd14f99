// What a run reports while it goes: records that stage workers push and the engine hands to
// an observer on the caller's thread, so a training loop reads losses and staleness in
// plain calls instead of callbacks fired from stage threads.
#pragma once

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>

#include "pipeline/loss_head.h"
#include "runtime/tensor.h"

namespace augur {

// A micro-batch as the data pipeline delivers it: host (ideally pinned) NHWC f32 images and
// i64 labels. The engine copies images to stage 0's device and labels to the last stage's.
struct MicroBatch {
  TensorView images;
  TensorView labels;
  std::shared_ptr<const void> keep_alive;  // owner of the views' memory, if any
};
using MicroBatchSource = std::function<MicroBatch(int micro_batch)>;

struct MicroBatchRecord {
  enum class Kind { Loss, Backward };
  Kind kind = Kind::Loss;
  int stage = 0, micro_batch = 0;
  // Loss (the last stage): the micro-batch's mean loss, samples and top-1 correct.
  float loss = NAN;
  int64_t samples = 0, correct_top1 = 0;
  // Backward: realised staleness, prediction quality (NaN when not sampled), and the
  // stage's busy time in this run up to and including this backward.
  int staleness = 0;
  double quality = NAN;
  double busy_ms = 0;
};

// Called on the caller's thread of Engine::run. An exception thrown here stops the run.
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void on_record(const MicroBatchRecord& record) = 0;
};

// Thrown when a loss is NaN or infinite (EngineOptions::stop_on_non_finite_loss).
class NonFiniteLoss : public Error {
 public:
  NonFiniteLoss(const std::string& what, int mb, float value)
      : Error(what), micro_batch(mb), loss(value) {}
  int micro_batch;
  float loss;
};

// What a stage worker reports to the caller's thread.
struct RecordItem {
  enum class Kind { Loss, Backward, Done };
  Kind kind = Kind::Done;
  int stage = 0, micro_batch = 0;
  LossOnDevice loss;         // Loss
  int staleness = 0;         // Backward
  double quality = NAN;      // Backward
  size_t busy_pairs = 0;     // Backward: compute actions of the stage so far
  std::exception_ptr error;  // Done: the stage's failure, if any
};

// The queue between stage workers and the caller's thread. Only a finished stage, or a loss
// at least a millisecond after the reader last woke, wakes the reader (other records ride
// along with the next wake), and only when it is waiting: on a machine with few cores every
// wake-up takes a core from the stages, and a stage preempted in the middle of a kernel
// leaves its thread-pool helper spinning. Real micro-batches take longer than a millisecond,
// so training still sees every loss as it comes. Where no loss comes (a process whose stages
// do not include the last), a backward wakes the reader instead, under the same millisecond.
class RecordQueue {
 public:
  explicit RecordQueue(bool losses_come = true)
      : wake_on_(losses_come ? RecordItem::Kind::Loss : RecordItem::Kind::Backward) {}
  void push(RecordItem item) {
    const bool done = item.kind == RecordItem::Kind::Done;
    const bool wakes = item.kind == wake_on_;
    // Notified under the lock: a Done may be the reader's last record, after which the
    // reader returns and the queue dies (it lives on the caller's stack). A notify after the
    // unlock could touch a dead condition variable, or the next run's queue built in its
    // place (seen: a stage thread hung inside pthread_cond_signal).
    std::lock_guard<std::mutex> lock(mutex_);
    items_.push_back(std::move(item));
    if (done || (wakes && std::chrono::steady_clock::now() - woke_ >= kMinWakeInterval)) {
      pending_ = true;
      if (waiting_) cv_.notify_one();
    }
  }
  // Everything pushed so far, in order, once a waking record or a finished stage is among it.
  std::deque<RecordItem> take() {
    std::unique_lock<std::mutex> lock(mutex_);
    waiting_ = true;
    cv_.wait(lock, [&] { return pending_; });
    waiting_ = pending_ = false;
    woke_ = std::chrono::steady_clock::now();
    return std::exchange(items_, {});
  }

  static constexpr std::chrono::milliseconds kMinWakeInterval{1};

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<RecordItem> items_;
  bool pending_ = false;  // a record that wakes the reader is waiting
  std::chrono::steady_clock::time_point woke_{};
  bool waiting_ = false;  // the reader is in take()
  const RecordItem::Kind wake_on_;
};

}  // namespace augur
