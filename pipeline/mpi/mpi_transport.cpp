#include "pipeline/mpi/mpi_transport.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <sstream>
#include <thread>

#include "pipeline/mpi/mpi_world.h"
#include "runtime/error.h"
#include "runtime/host_data.h"
#include "runtime/spin_wait.h"

namespace augur {

namespace {

constexpr int32_t kMagic = 0x41554752;  // "AUGR"
// The header is padded so the data after it is aligned for every dtype.
constexpr size_t kHeaderBytes = 128;

struct WireHeader {
  int32_t magic;
  int32_t kind;
  int32_t micro_batch;
  int32_t dtype;
  int32_t rank;  // of the shape
  int32_t pad;
  int64_t dims[Shape::kMaxRank];
};
static_assert(sizeof(WireHeader) <= kHeaderBytes, "the wire header outgrew its padding");

void mpi_check(int rc, const char* call) {
  AUGUR_CHECK(rc == MPI_SUCCESS, call, " failed: ", mpi_error_text(rc));
}

Shape shape_from(const int64_t* d, int rank) {
  switch (rank) {
    case 0: return Shape{};
    case 1: return Shape{d[0]};
    case 2: return Shape{d[0], d[1]};
    case 3: return Shape{d[0], d[1], d[2]};
    case 4: return Shape{d[0], d[1], d[2], d[3]};
    case 5: return Shape{d[0], d[1], d[2], d[3], d[4]};
    case 6: return Shape{d[0], d[1], d[2], d[3], d[4], d[5]};
    default: throw Error("a message's shape has rank " + std::to_string(rank));
  }
}

std::string op_text(const CommOp& op) {
  std::ostringstream os;
  os << (op.op == CommOp::Kind::Send ? "send of the " : "receive of the ")
     << message_kind_name(op.kind) << " of micro-batch " << op.micro_batch
     << (op.op == CommOp::Kind::Send ? " to stage " : " from stage ") << op.peer;
  return os.str();
}

}  // namespace

MpiTransport::MpiTransport(MPI_Comm comm, std::vector<int> stage_ranks, MpiTransportOptions options,
                           MPI_Comm replicas)
    : parent_(comm), ranks_(std::move(stage_ranks)), options_(options) {
  if (replicas != MPI_COMM_NULL) {
    mpi_check(MPI_Comm_dup(replicas, &replicas_), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(replicas_, MPI_ERRORS_RETURN);
    mpi_check(MPI_Comm_size(replicas_, &replica_count_), "MPI_Comm_size");
  }
  int size = 0;
  mpi_check(MPI_Comm_size(parent_, &size), "MPI_Comm_size");
  for (size_t r = 0; r < ranks_.size(); ++r)
    AUGUR_ARG_CHECK(ranks_[r] >= 0 && ranks_[r] < size, "stage ", r, " is on rank ", ranks_[r],
                    " of a communicator of ", size);
  mpi_check(MPI_Comm_dup(parent_, &comm_), "MPI_Comm_dup");
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  int* ub = nullptr;
  int found = 0;
  MPI_Comm_get_attr(comm_, MPI_TAG_UB, &ub, &found);
  if (found && ub) tag_ub_ = *ub;
}

MpiTransport::~MpiTransport() {
  // Sends of a finished run have all been received; after a failed one, leave the rest, and
  // keep its communicator (see abandoned_).
  for (PendingSend& s : sends_)
    if (s.request != MPI_REQUEST_NULL) MPI_Request_free(&s.request);
  if (comm_ != MPI_COMM_NULL && !failed_ && !aborted_.load()) MPI_Comm_free(&comm_);
  if (replicas_ != MPI_COMM_NULL) MPI_Comm_free(&replicas_);
}

void MpiTransport::wait(MPI_Request* request, std::chrono::steady_clock::time_point deadline,
                        const std::string& what) {
  const bool done = poll_until(
      [&] {
        int complete = 0;
        mpi_check(MPI_Test(request, &complete, MPI_STATUS_IGNORE), "MPI_Test");
        if (!complete) check_aborted();
        return complete != 0;
      },
      deadline, options_.poll_yielding, options_.poll_sleep);
  if (done) return;
  failed_ = true;
  MPI_Request_free(request);
  throw ReceiveTimeout("timed out waiting for " + what);
}

void MpiTransport::average_gradients(int stage, const TensorView& grads, const Stream& stream,
                                     std::chrono::steady_clock::time_point deadline) {
  if (replica_count_ <= 1 || grads.empty()) return;
  check_aborted();
  AUGUR_CHECK(grads.dtype() == DType::F32, "gradients of dtype ", dtype_name(grads.dtype()));
  AUGUR_CHECK(grads.numel() <= INT32_MAX, "a gradient arena of ", grads.numel(),
              " elements is over MPI's count limit");
  // On the host: a device arena is staged through it.
  Tensor staged;
  float* data = nullptr;
  if (grads.device().is_cpu()) {
    stream.synchronize();
    data = grads.data<float>();
  } else {
    staged = copy_of(grads, Device::cpu(), stream);
    stream.synchronize();
    data = staged.data<float>();
  }
  const int n = static_cast<int>(grads.numel());
  int me = 0;
  MPI_Comm_rank(replicas_, &me);
  std::vector<float> sum(me == 0 ? static_cast<size_t>(n) : 0);
  MPI_Request request;
  mpi_check(MPI_Ireduce(data, me == 0 ? sum.data() : nullptr, n, MPI_FLOAT, MPI_SUM, 0, replicas_,
                        &request),
            "MPI_Ireduce");
  const std::string what = "the gradient all-reduce of stage " + std::to_string(stage);
  wait(&request, deadline, what);
  if (me == 0) {
    const float scale = 1.0f / static_cast<float>(replica_count_);
    for (int i = 0; i < n; ++i) data[i] = sum[size_t(i)] * scale;
  }
  mpi_check(MPI_Ibcast(data, n, MPI_FLOAT, 0, replicas_, &request), "MPI_Ibcast");
  wait(&request, deadline, what);
  if (!grads.device().is_cpu()) {
    copy(grads, staged.view(), stream);
    stream.synchronize();  // `staged` dies here
  }
}

int MpiTransport::tag_for(MessageKind kind, int micro_batch) const {
  if (options_.strict) return 0;  // NCCL has no tags: one stream of messages per pair
  const int64_t tag = int64_t(micro_batch) * 3 + int(kind);
  AUGUR_CHECK(tag <= tag_ub_, "micro-batch ", micro_batch, " needs MPI tag ", tag,
              ", above this MPI's limit of ", tag_ub_);
  return static_cast<int>(tag);
}

MpiTransport::PendingSend MpiTransport::post_send(int to_stage, MessageKind kind, int micro_batch,
                                                  const TensorView& data, const Stream& stream) {
  AUGUR_ARG_CHECK(to_stage >= 0 && to_stage < static_cast<int>(ranks_.size()), "message to stage ",
                  to_stage, " of a ", ranks_.size(), "-stage pipeline");
  PendingSend s;
  const size_t bytes = data.bytes();
  s.size = kHeaderBytes + bytes;
  s.bytes.reset(new char[s.size]);
  WireHeader h{};
  h.magic = kMagic;
  h.kind = static_cast<int32_t>(kind);
  h.micro_batch = micro_batch;
  h.dtype = static_cast<int32_t>(data.dtype());
  h.rank = data.shape().rank();
  for (int i = 0; i < h.rank; ++i) h.dims[i] = data.shape()[i];
  std::memset(s.bytes.get(), 0, kHeaderBytes);
  std::memcpy(s.bytes.get(), &h, sizeof h);
  if (bytes > 0) {
    // A device tensor is staged through host memory once the work that made it is done.
    const TensorView dst(s.bytes.get() + kHeaderBytes, data.dtype(), Device::cpu(), data.shape());
    copy(dst, data, stream);
    stream.synchronize();
  }
  const int dest = ranks_[static_cast<size_t>(to_stage)];
  const int tag = tag_for(kind, micro_batch);
  AUGUR_CHECK(s.size <= static_cast<size_t>(INT32_MAX), "a ", s.size,
              "-byte message is over MPI's count limit");
  const int count = static_cast<int>(s.size);
  if (options_.strict)
    mpi_check(MPI_Issend(s.bytes.get(), count, MPI_BYTE, dest, tag, comm_, &s.request),
              "MPI_Issend");
  else
    mpi_check(MPI_Isend(s.bytes.get(), count, MPI_BYTE, dest, tag, comm_, &s.request), "MPI_Isend");
  return s;
}

bool MpiTransport::try_receive(int stage, CommOp& op, const Stream& stream) {
  AUGUR_ARG_CHECK(op.peer >= 0 && op.peer < static_cast<int>(ranks_.size()), "message from stage ",
                  op.peer, " of a ", ranks_.size(), "-stage pipeline");
  const int source = ranks_[static_cast<size_t>(op.peer)];
  int arrived = 0;
  MPI_Message message;
  MPI_Status status;
  mpi_check(
      MPI_Improbe(source, tag_for(op.kind, op.micro_batch), comm_, &arrived, &message, &status),
      "MPI_Improbe");
  if (!arrived) return false;
  int count = 0;
  mpi_check(MPI_Get_count(&status, MPI_BYTE, &count), "MPI_Get_count");
  // Received into a host tensor; the data is a view just past the header.
  auto host = std::make_shared<Tensor>(Tensor::empty(
      Shape{std::max<int64_t>(1, (int64_t(count) + 3) / 4)}, DType::F32, Device::cpu()));
  mpi_check(MPI_Mrecv(host->view().raw(), count, MPI_BYTE, &message, MPI_STATUS_IGNORE),
            "MPI_Mrecv");
  WireHeader h{};
  AUGUR_CHECK(static_cast<size_t>(count) >= kHeaderBytes, "stage ", stage, " got a ", count,
              "-byte message from stage ", op.peer, ", shorter than a header");
  std::memcpy(&h, host->view().raw(), sizeof h);
  AUGUR_CHECK(h.magic == kMagic, "stage ", stage, " got a message from stage ", op.peer,
              " that is not the engine's");
  const auto kind = static_cast<MessageKind>(h.kind);
  if (kind != op.kind || h.micro_batch != op.micro_batch) {
    failed_ = true;
    throw Error("stage " + std::to_string(stage) + " expected the " + message_kind_name(op.kind) +
                " of micro-batch " + std::to_string(op.micro_batch) + " from stage " +
                std::to_string(op.peer) + " and got the " + message_kind_name(kind) +
                " of micro-batch " + std::to_string(h.micro_batch) +
                ": the two stages' lists send and receive in different orders");
  }
  AUGUR_CHECK(h.dtype >= 0 && h.dtype <= static_cast<int32_t>(DType::U8), "bad dtype ", h.dtype);
  const Shape shape = shape_from(h.dims, h.rank);
  const auto dtype = static_cast<DType>(h.dtype);
  AUGUR_CHECK(kHeaderBytes + static_cast<size_t>(shape.numel()) * dtype_size(dtype) ==
                  static_cast<size_t>(count),
              "a message of ", count, " bytes for a ", shape.str(), " tensor");
  if (op.expect_shape && (shape != *op.expect_shape || dtype != op.expect_dtype)) {
    failed_ = true;
    throw Error("stage " + std::to_string(stage) + " expected the " + message_kind_name(op.kind) +
                " of micro-batch " + std::to_string(op.micro_batch) + " from stage " +
                std::to_string(op.peer) + " as " + dtype_name(op.expect_dtype) + " " +
                op.expect_shape->str() + " and got " + dtype_name(dtype) + " " + shape.str());
  }
  char* data = static_cast<char*>(host->view().raw()) + kHeaderBytes;
  const TensorView view(data, dtype, Device::cpu(), shape);
  if (stream.device().is_cpu()) {
    op.received.view = view;
    op.received.owned = std::move(*host);
  } else {
    op.received.owned = copy_of(view, stream.device(), stream);
    op.received.view = op.received.owned.view();
    op.received.keep_alive = host;  // the copy may still be reading it
  }
  return true;
}

void MpiTransport::reap_sends() {
  for (PendingSend& s : sends_) {
    if (s.request == MPI_REQUEST_NULL) continue;
    int done = 0;
    mpi_check(MPI_Test(&s.request, &done, MPI_STATUS_IGNORE), "MPI_Test");
  }
  sends_.erase(std::remove_if(sends_.begin(), sends_.end(),
                              [](const PendingSend& s) { return s.request == MPI_REQUEST_NULL; }),
               sends_.end());
}

void MpiTransport::check_aborted() const {
  if (aborted_.load()) throw Error(abort_reason_);
}

void MpiTransport::exchange(int stage, std::vector<CommOp>& ops, const Stream& stream,
                            std::chrono::steady_clock::time_point deadline) {
  check_aborted();
  reap_sends();
  std::vector<PendingSend> group;  // strict: this group's sends, waited for below
  std::vector<bool> done(ops.size(), false);
  for (size_t i = 0; i < ops.size(); ++i) {
    CommOp& op = ops[i];
    if (op.op != CommOp::Kind::Send) continue;
    PendingSend s = post_send(op.peer, op.kind, op.micro_batch, op.data, stream);
    op.owned = Tensor();  // the bytes are in the message now
    if (options_.strict) {
      group.push_back(std::move(s));
    } else {
      sends_.push_back(std::move(s));
      done[i] = true;
    }
  }
  const auto progress = [&] {
    bool all = true;
    for (size_t i = 0; i < ops.size(); ++i) {
      if (done[i] || ops[i].op != CommOp::Kind::Receive) continue;
      // Strictly, a peer's messages match this stage's receives in order: only the first
      // pending receive from each peer may take its next message.
      bool earlier_pending = false;
      for (size_t j = 0; options_.strict && j < i; ++j)
        earlier_pending |=
            !done[j] && ops[j].op == CommOp::Kind::Receive && ops[j].peer == ops[i].peer;
      if (!earlier_pending) done[i] = try_receive(stage, ops[i], stream);
      all &= done[i];
    }
    for (PendingSend& s : group) {
      if (s.request == MPI_REQUEST_NULL) continue;
      int complete = 0;
      mpi_check(MPI_Test(&s.request, &complete, MPI_STATUS_IGNORE), "MPI_Test");
      all &= complete != 0;
    }
    if (!all) check_aborted();
    return all;
  };
  if (poll_until(progress, deadline, options_.poll_yielding, options_.poll_sleep)) return;
  failed_ = true;
  std::string waiting;
  size_t k = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    const bool send_pending = ops[i].op == CommOp::Kind::Send && options_.strict &&
                              group[k++].request != MPI_REQUEST_NULL;
    if ((ops[i].op == CommOp::Kind::Receive && !done[i]) || send_pending)
      waiting += (waiting.empty() ? "" : "; ") + op_text(ops[i]);
  }
  // The group's sends stay with the transport until the next run abandons them.
  for (PendingSend& s : group) sends_.push_back(std::move(s));
  throw ReceiveTimeout("stage " + std::to_string(stage) + " timed out waiting for: " + waiting);
}

void MpiTransport::send(int from_stage, int to_stage, MessageKind kind, int micro_batch,
                        const TensorView& data, Tensor owned, const Stream& stream) {
  send_alone(from_stage, to_stage, kind, micro_batch, data, std::move(owned), stream,
             std::chrono::steady_clock::time_point::max());
}

Message MpiTransport::receive(int stage, MessageKind kind, int micro_batch, const Stream& stream,
                              std::chrono::steady_clock::time_point deadline) {
  return receive_alone(stage, kind, micro_batch, stream, deadline);
}

void MpiTransport::abort(const std::string& why) {
  std::lock_guard<std::mutex> lock(abort_mutex_);
  if (!aborted_.load()) {
    abort_reason_ = why;
    aborted_.store(true);
  }
}

void MpiTransport::begin_run() {
  // Whether any rank's last run failed, agreed by all (a rank that finished its list while
  // its neighbour failed must move to the fresh communicator too).
  int failed = failed_ || aborted_.load() ? 1 : 0;
  mpi_check(MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, parent_), "MPI_Allreduce");
  if (failed) {
    // Pending operations of the failed run can never complete (their peers gave up):
    // abandon them with their communicator and go on with a fresh duplicate.
    for (PendingSend& s : sends_)
      if (s.request != MPI_REQUEST_NULL) MPI_Request_free(&s.request);
    sends_.clear();
    abandoned_.push_back(comm_);
    mpi_check(MPI_Comm_dup(parent_, &comm_), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  }
  failed_ = false;
  aborted_.store(false);
  abort_reason_.clear();
  reap_sends();
}

}  // namespace augur
