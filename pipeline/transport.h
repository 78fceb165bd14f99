// How boundary activations, gradients and labels move between stages. The engine talks to
// one interface and is given its transport from outside, so transports across processes
// (MPI, NCCL) sit beside the in-process one without the engine changing. A send hands over
// data that is ready once the work queued so far on the sender's stream is done; a receive
// returns data on the receiver's device, usable by work queued on the receiver's stream
// from then on. Messages are addressed by (receiving stage, kind, micro-batch).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "runtime/stream.h"
#include "runtime/tensor.h"
#include "runtime/trace.h"

namespace augur {

enum class MessageKind { Activation, Gradient, Labels };
const char* message_kind_name(MessageKind kind);

struct Message {
  TensorView view;
  Tensor owned;                            // empty when `view` points into the sender's memory
  std::shared_ptr<Event> ready;            // null: the data is ready now (CPU)
  std::shared_ptr<const void> keep_alive;  // staging memory a copy still reads, if any
};

// Thrown by receive() when the deadline passes without the message arriving.
class ReceiveTimeout : public Error {
 public:
  using Error::Error;
};

// One send or receive of a group (Transport::exchange).
struct CommOp {
  enum class Kind { Send, Receive } op = Kind::Send;
  int peer = 0;  // the stage sent to or received from
  MessageKind kind = MessageKind::Activation;
  int micro_batch = 0;
  TensorView data;   // Send: what goes
  Tensor owned;      // Send: keeps `data` alive when set (see send)
  Message received;  // Receive: filled by exchange
  // Receive: the shape and dtype the message will have, where the receiver knows them in
  // advance (a gradient has the shape of the activation it answers; an activation's shape
  // comes from EngineOptions::micro_batch_input). A transport that sizes a receive before
  // the message arrives (NCCL: a receive's count must equal the send's) needs them; the
  // others check each arrival against them, so a wrong expectation fails on the CPU too.
  std::optional<Shape> expect_shape;
  DType expect_dtype = DType::F32;

  static CommOp sending(int to_stage, MessageKind kind, int micro_batch, const TensorView& data,
                        Tensor owned = Tensor());
  static CommOp receiving(int from_stage, MessageKind kind, int micro_batch);
};

// Where stage `stage`'s messages of `kind` come from: activations from upstream, gradients
// from downstream, labels from the first stage.
int sender_of(int stage, MessageKind kind);

// The trace arrow of one message (its two ends' name and id): the same text in the engine,
// in every process of a job and in the simulator. `run` counts the engine's runs.
TraceFlow message_flow(int64_t run, int replica, int from_stage, int to_stage, MessageKind kind,
                       int micro_batch);

class Transport {
 public:
  virtual ~Transport() = default;
  // `data` must stay valid until the receiver is done with it unless `owned` holds it (the
  // in-process transport hands views over without copying on one device).
  virtual void send(int from_stage, int to_stage, MessageKind kind, int micro_batch,
                    const TensorView& data, Tensor owned, const Stream& stream) = 0;
  // Blocks until the message arrives; throws ReceiveTimeout at the deadline and Error when
  // the transport was aborted.
  virtual Message receive(int stage, MessageKind kind, int micro_batch, const Stream& stream,
                          std::chrono::steady_clock::time_point deadline) = 0;
  // A run of adjacent communication actions of `stage`'s list, issued as one group: every
  // operation of the group may progress before any completes (NCCL's ncclGroupStart/End; on
  // MPI, post all, then wait for all). Transports whose sends block until they are matched
  // need this to avoid deadlock where neighbours' sends cross (stage 0 sends activation 1
  // while stage 1 sends gradient 0). This default, for transports whose sends never block,
  // issues the operations one by one in order.
  virtual void exchange(int stage, std::vector<CommOp>& ops, const Stream& stream,
                        std::chrono::steady_clock::time_point deadline);
  // Data parallelism: before each Step, the replicas of `stage` (the same stage of the
  // other pipelines) average its flat gradient arena, every replica ending with the same
  // bits. The default has no replicas and leaves the gradients as they are.
  virtual void average_gradients(int stage, const TensorView& grads, const Stream& stream,
                                 std::chrono::steady_clock::time_point deadline) {
    (void)stage;
    (void)grads;
    (void)stream;
    (void)deadline;
  }
  // Wakes every receiver with an error (another stage failed).
  virtual void abort(const std::string& why) = 0;
  // Called before each run: forgets an earlier run's abort and undelivered messages.
  virtual void begin_run() = 0;

 protected:
  // For transports built on exchange(): one send or receive as a group of one.
  void send_alone(int from_stage, int to_stage, MessageKind kind, int micro_batch,
                  const TensorView& data, Tensor owned, const Stream& stream,
                  std::chrono::steady_clock::time_point deadline);
  Message receive_alone(int stage, MessageKind kind, int micro_batch, const Stream& stream,
                        std::chrono::steady_clock::time_point deadline);
};

// Stages in one process, each on its device. On one device a message is the sender's view
// plus an event; between devices it is copied on the sender's copy stream, device to device
// where peer access is possible, else staged through pinned host memory.
class InProcessTransport : public Transport {
 public:
  explicit InProcessTransport(std::vector<Device> stage_devices);
  ~InProcessTransport() override;

  void send(int from_stage, int to_stage, MessageKind kind, int micro_batch, const TensorView& data,
            Tensor owned, const Stream& stream) override;
  Message receive(int stage, MessageKind kind, int micro_batch, const Stream& stream,
                  std::chrono::steady_clock::time_point deadline) override;
  void abort(const std::string& why) override;
  void begin_run() override;

 private:
  Message copy_between(int from, int to, const TensorView& data, const Stream& stream);

  std::vector<Device> devices_;
  // [from][to]: a direct device-to-device copy is possible (enabled at construction).
  std::vector<std::vector<bool>> direct_;
  std::vector<Stream> copy_streams_;   // per stage: transfers out of its device
  std::vector<Stream> inbox_streams_;  // per stage: staged copies into its device
  std::mutex mutex_;
  // One per receiving stage: a message wakes only the stage it is for (with K stage threads
  // on a few cores, waking every waiting stage for each message costs more than the message).
  // A sender wakes a stage only when it brings the very message that stage waits for (a
  // label sent ahead of its activation must not wake the last stage for nothing).
  using Key = std::tuple<int, int, int>;  // (stage, kind, micro-batch)
  std::vector<std::condition_variable> arrived_;
  std::vector<Key> waiting_for_;  // per stage; (-1, -1, -1) when not waiting
  std::map<Key, Message> mailbox_;
  // Per receiving stage: messages delivered so far, read without the lock by a receiver that
  // spins briefly before it sleeps (taking the lock to look would contend with the sender).
  std::unique_ptr<std::atomic<uint64_t>[]> delivered_;
  // Per receiving stage, under the lock: its last wait was shorter than the spin, so the
  // next one spins before it sleeps (char, not vector<bool>: one element per stage).
  std::vector<char> short_waits_;
  std::string aborted_;
};

}  // namespace augur
