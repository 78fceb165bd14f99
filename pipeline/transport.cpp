#include "pipeline/transport.h"

namespace augur {

void InProcessTransport::send(int to_stage, MessageKind kind, int micro_batch, Message message) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto key = std::make_tuple(to_stage, static_cast<int>(kind), micro_batch);
    AUGUR_CHECK(!mailbox_.count(key), "message for stage ", to_stage, ", micro-batch ", micro_batch,
                " sent twice");
    mailbox_.emplace(key, std::move(message));
  }
  cv_.notify_all();
}

Message InProcessTransport::receive(int stage, MessageKind kind, int micro_batch,
                                    std::chrono::steady_clock::time_point deadline) {
  const auto key = std::make_tuple(stage, static_cast<int>(kind), micro_batch);
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (!aborted_.empty()) throw Error(aborted_);
    auto it = mailbox_.find(key);
    if (it != mailbox_.end()) {
      Message m = std::move(it->second);
      mailbox_.erase(it);
      return m;
    }
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
      if (!aborted_.empty()) throw Error(aborted_);
      if (mailbox_.count(key)) continue;
      throw ReceiveTimeout("timed out");
    }
  }
}

void InProcessTransport::abort(const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (aborted_.empty()) aborted_ = why;
  }
  cv_.notify_all();
}

}  // namespace augur
