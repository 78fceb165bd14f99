#include "pipeline/transport.h"

#include "runtime/buffer.h"
#include "runtime/peer_access.h"
#include "runtime/spin_wait.h"

namespace augur {

namespace {
constexpr auto kSpinBeforeSleep = std::chrono::microseconds(50);
// A wait counts as short below this: far above the spin, since a wait that ends in a sleep
// and wake-up takes tens of microseconds on a busy machine (judged by the spin alone, one
// such wait would stop the spinning for good), far below a real layer's milliseconds.
constexpr auto kShortWait = std::chrono::microseconds(500);
}  // namespace

TraceFlow message_flow(int64_t run, int replica, int from_stage, int to_stage, MessageKind kind,
                       int micro_batch) {
  TraceFlow f;
  f.name = std::string(message_kind_name(kind)) + " " + std::to_string(micro_batch);
  f.id = trace_flow_id(std::to_string(run) + "/" + std::to_string(replica) + "/" +
                       std::to_string(from_stage) + ">" + std::to_string(to_stage) + "/" + f.name);
  return f;
}

const char* message_kind_name(MessageKind kind) {
  switch (kind) {
    case MessageKind::Activation: return "activation";
    case MessageKind::Gradient: return "gradient";
    case MessageKind::Labels: return "labels";
  }
  return "?";
}

CommOp CommOp::sending(int to_stage, MessageKind kind, int micro_batch, const TensorView& data,
                       Tensor owned) {
  CommOp op;
  op.op = Kind::Send;
  op.peer = to_stage;
  op.kind = kind;
  op.micro_batch = micro_batch;
  op.data = data;
  op.owned = std::move(owned);
  return op;
}

CommOp CommOp::receiving(int from_stage, MessageKind kind, int micro_batch) {
  CommOp op;
  op.op = Kind::Receive;
  op.peer = from_stage;
  op.kind = kind;
  op.micro_batch = micro_batch;
  return op;
}

int sender_of(int stage, MessageKind kind) {
  switch (kind) {
    case MessageKind::Activation: return stage - 1;
    case MessageKind::Gradient: return stage + 1;
    case MessageKind::Labels: return 0;
  }
  return 0;
}

void Transport::send_alone(int from_stage, int to_stage, MessageKind kind, int micro_batch,
                           const TensorView& data, Tensor owned, const Stream& stream,
                           std::chrono::steady_clock::time_point deadline) {
  std::vector<CommOp> ops;
  ops.push_back(CommOp::sending(to_stage, kind, micro_batch, data, std::move(owned)));
  exchange(from_stage, ops, stream, deadline);
}

Message Transport::receive_alone(int stage, MessageKind kind, int micro_batch, const Stream& stream,
                                 std::chrono::steady_clock::time_point deadline) {
  std::vector<CommOp> ops;
  ops.push_back(CommOp::receiving(sender_of(stage, kind), kind, micro_batch));
  exchange(stage, ops, stream, deadline);
  return std::move(ops[0].received);
}

void Transport::exchange(int stage, std::vector<CommOp>& ops, const Stream& stream,
                         std::chrono::steady_clock::time_point deadline) {
  for (CommOp& op : ops) {
    if (op.op == CommOp::Kind::Send)
      send(stage, op.peer, op.kind, op.micro_batch, op.data, std::move(op.owned), stream);
    else
      op.received = receive(stage, op.kind, op.micro_batch, stream, deadline);
  }
}

InProcessTransport::InProcessTransport(std::vector<Device> stage_devices)
    : devices_(std::move(stage_devices)),
      arrived_(devices_.size()),
      waiting_for_(devices_.size(), Key{-1, -1, -1}),
      delivered_(new std::atomic<uint64_t>[devices_.size()]()),
      short_waits_(devices_.size(), 1) {
  for (const Device& d : devices_) {
    copy_streams_.push_back(Stream::create(d));
    inbox_streams_.push_back(Stream::create(d));
  }
  const size_t k = devices_.size();
  direct_.assign(k, std::vector<bool>(k, true));
  for (size_t a = 0; a < k; ++a)
    for (size_t b = 0; b < k; ++b)
      if (devices_[a].is_cuda() && devices_[b].is_cuda() && devices_[a] != devices_[b])
        direct_[a][b] = enable_peer_access(devices_[a], devices_[b]);
}

InProcessTransport::~InProcessTransport() = default;

Message InProcessTransport::copy_between(int from, int to, const TensorView& data,
                                         const Stream& stream) {
  const Device& src = devices_[static_cast<size_t>(from)];
  const Device& dst = devices_[static_cast<size_t>(to)];
  const Stream& out = copy_streams_[static_cast<size_t>(from)];
  // The copy starts after the compute that made the data.
  Event made(src);
  made.record(stream);
  made.wait(out);
  Message m;
  m.owned = Tensor::empty(data.shape(), data.dtype(), dst, &inbox_streams_[size_t(to)]);
  m.view = m.owned.view();
  if (direct_[static_cast<size_t>(from)][static_cast<size_t>(to)]) {
    copy(m.owned, data, out);
    m.ready = std::make_shared<Event>(src);
    m.ready->record(out);
    return m;
  }
  // No peer path: device -> pinned host on the sender's side, then host -> device on the
  // receiver's inbox stream once the first half is done.
  auto staging = std::make_shared<PinnedBuffer>(data.bytes());
  const TensorView host(staging->data(), data.dtype(), Device::cpu(), data.shape());
  copy(host, data, out);
  Event landed(src);
  landed.record(out);
  const Stream& in = inbox_streams_[static_cast<size_t>(to)];
  landed.wait(in);
  copy(m.owned, host, in);
  m.ready = std::make_shared<Event>(dst);
  m.ready->record(in);
  // The pinned buffer must outlive the host-to-device copy: the message keeps it, and the
  // receiver holds the message until its backward, long after `ready`.
  m.keep_alive = staging;
  return m;
}

void InProcessTransport::send(int from_stage, int to_stage, MessageKind kind, int micro_batch,
                              const TensorView& data, Tensor owned, const Stream& stream) {
  AUGUR_CHECK(to_stage >= 0 && to_stage < static_cast<int>(devices_.size()) && from_stage >= 0 &&
                  from_stage < static_cast<int>(devices_.size()),
              "message from stage ", from_stage, " to stage ", to_stage, " in a ", devices_.size(),
              "-stage pipeline");
  Message m;
  const Device& src = devices_[static_cast<size_t>(from_stage)];
  if (data.device() == devices_[static_cast<size_t>(to_stage)] || data.device().is_cpu()) {
    m.view = data;
    m.owned = std::move(owned);
    if (data.device().is_cuda()) {
      m.ready = std::make_shared<Event>(src);
      m.ready->record(stream);
    }
  } else {
    m = copy_between(from_stage, to_stage, data, stream);
    // The source must live until the copy on the copy stream has read it.
    if (!owned.empty()) owned.set_stream(copy_streams_[static_cast<size_t>(from_stage)]);
  }
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const Key key{to_stage, static_cast<int>(kind), micro_batch};
    AUGUR_CHECK(!mailbox_.count(key), message_kind_name(kind), " message for stage ", to_stage,
                ", micro-batch ", micro_batch, " sent twice");
    mailbox_.emplace(key, std::move(m));
    delivered_[static_cast<size_t>(to_stage)].fetch_add(1);
    wake = waiting_for_[static_cast<size_t>(to_stage)] == key;
  }
  if (wake) arrived_[static_cast<size_t>(to_stage)].notify_one();
}

Message InProcessTransport::receive(int stage, MessageKind kind, int micro_batch,
                                    const Stream& stream,
                                    std::chrono::steady_clock::time_point deadline) {
  AUGUR_CHECK(stage >= 0 && stage < static_cast<int>(devices_.size()), "receive on stage ", stage,
              " of a ", devices_.size(), "-stage pipeline");
  const Key key{stage, static_cast<int>(kind), micro_batch};
  Message m;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    Key& waiting = waiting_for_[static_cast<size_t>(stage)];
    bool spun = false;
    const auto entered = std::chrono::steady_clock::now();
    for (;;) {
      if (!aborted_.empty()) throw Error(aborted_);
      auto it = mailbox_.find(key);
      if (it != mailbox_.end()) {
        m = std::move(it->second);
        mailbox_.erase(it);
        waiting = Key{-1, -1, -1};
        short_waits_[static_cast<size_t>(stage)] =
            std::chrono::steady_clock::now() - entered < kShortWait;
        break;
      }
      // A short spin before sleeping, when this stage's last wait was short: in a ping-pong
      // between neighbours on tiny tensors (1f1b at K = 2) the answer comes within
      // microseconds and a futex sleep and wake-up costs more than that, while behind real
      // layers (waits of milliseconds) spinning only takes the cores from the computing
      // stage. The spin watches the stage's delivery count without the lock and yields.
      if (!spun && short_waits_[static_cast<size_t>(stage)]) {
        spun = true;
        const std::atomic<uint64_t>& delivered = delivered_[static_cast<size_t>(stage)];
        const uint64_t seen = delivered.load();
        lock.unlock();
        spin_until([&] { return delivered.load() != seen; }, kSpinBeforeSleep);
        lock.lock();
        continue;
      }
      waiting = key;
      if (arrived_[static_cast<size_t>(stage)].wait_until(lock, deadline) ==
          std::cv_status::timeout) {
        if (!aborted_.empty()) throw Error(aborted_);
        if (mailbox_.count(key)) continue;
        waiting = Key{-1, -1, -1};
        throw ReceiveTimeout("timed out waiting for the " + std::string(message_kind_name(kind)) +
                             " of micro-batch " + std::to_string(micro_batch));
      }
    }
  }
  if (m.ready) m.ready->wait(stream);
  if (!m.owned.empty() && m.owned.device() == stream.device()) m.owned.set_stream(stream);
  return m;
}

void InProcessTransport::abort(const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (aborted_.empty()) aborted_ = why;
  }
  for (auto& cv : arrived_) cv.notify_all();
}

void InProcessTransport::begin_run() {
  std::lock_guard<std::mutex> lock(mutex_);
  aborted_.clear();
  mailbox_.clear();
  for (Key& k : waiting_for_) k = Key{-1, -1, -1};
}

}  // namespace augur
