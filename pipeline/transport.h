// How boundary activations and gradients move between stages. The engine talks to one
// interface so that transports across processes (NCCL, MPI) can sit beside the in-process
// one. A message is a tensor view plus, on GPU, the event after which its data is ready;
// `owned` keeps the memory alive when the message carries its own copy.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "runtime/stream.h"
#include "runtime/tensor.h"

namespace augur {

enum class MessageKind { Activation, Gradient };

struct Message {
  TensorView view;
  Tensor owned;                  // empty when `view` points into the sender's memory
  std::shared_ptr<Event> ready;  // null: the data is ready now (CPU)
};

// Thrown by receive() when the deadline passes without the message arriving.
class ReceiveTimeout : public Error {
 public:
  using Error::Error;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual void send(int to_stage, MessageKind kind, int micro_batch, Message message) = 0;
  // Blocks until the message arrives; throws ReceiveTimeout at the deadline and Error when
  // the transport was aborted.
  virtual Message receive(int stage, MessageKind kind, int micro_batch,
                          std::chrono::steady_clock::time_point deadline) = 0;
  // Wakes every receiver with an error (another stage failed).
  virtual void abort(const std::string& why) = 0;
};

// Stages in one process: a mailbox per (stage, kind, micro-batch).
class InProcessTransport : public Transport {
 public:
  void send(int to_stage, MessageKind kind, int micro_batch, Message message) override;
  Message receive(int stage, MessageKind kind, int micro_batch,
                  std::chrono::steady_clock::time_point deadline) override;
  void abort(const std::string& why) override;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::tuple<int, int, int>, Message> mailbox_;
  std::string aborted_;
};

}  // namespace augur
