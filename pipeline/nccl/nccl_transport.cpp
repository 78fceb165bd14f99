#include "pipeline/nccl/nccl_transport.h"

#include <sstream>

#include "runtime/error.h"

namespace augur {

namespace {

std::string op_text(int stage, const CommOp& op) {
  std::ostringstream os;
  os << "stage " << stage << (op.op == CommOp::Kind::Send ? ": send of the " : ": receive of the ")
     << message_kind_name(op.kind) << " of micro-batch " << op.micro_batch
     << (op.op == CommOp::Kind::Send ? " to stage " : " from stage ") << op.peer;
  return os.str();
}

size_t bytes_of(const TensorView& v) {
  return static_cast<size_t>(v.numel()) * dtype_size(v.dtype());
}

}  // namespace

NcclTransport::NcclTransport(std::shared_ptr<NcclComm> pipeline, std::shared_ptr<NcclComm> replicas)
    : pipeline_(std::move(pipeline)), replicas_(std::move(replicas)) {
  AUGUR_ARG_CHECK(pipeline_ != nullptr, "the NCCL transport needs a pipeline communicator");
  AUGUR_ARG_CHECK(!replicas_ || replicas_->device() == pipeline_->device(),
                  "the pipeline and data-parallel communicators are on different devices");
  // Higher priority than compute: a transfer that can go should not queue behind kernels.
  comm_stream_ = Stream::create(pipeline_->device(), -1);
}

NcclTransport::~NcclTransport() = default;

template <class Issue>
void NcclTransport::run_on_comm_stream(NcclComm& comm, const Stream& stream,
                                       const std::string& what,
                                       std::chrono::steady_clock::time_point deadline,
                                       const Issue& issue) {
  AUGUR_ARG_CHECK(stream.device() == comm.device(), what, ": a stream on ", stream.device().str(),
                  ", the NCCL communicator is on ", comm.device().str());
  comm.wait_ready(deadline, what);  // also: a stop requested since the last operation
  Event computed(stream.device());
  computed.record(stream);
  computed.wait(comm_stream_);
  issue();
  comm.wait_ready(deadline, what);
  Event communicated(stream.device());
  communicated.record(comm_stream_);
  communicated.wait(stream);
  comm.wait_done(comm_stream_, deadline, what);
}

void NcclTransport::exchange(int stage, std::vector<CommOp>& ops, const Stream& stream,
                             std::chrono::steady_clock::time_point deadline) {
  AUGUR_ARG_CHECK(stage == pipeline_->rank(), "stage ", stage, " on the NCCL transport of stage ",
                  pipeline_->rank());
  const Device& dev = pipeline_->device();
  std::string what;
  for (CommOp& op : ops) {
    // (A peer may be this rank itself: NCCL sends to self within a group, which is what a
    // one-GPU machine can check.)
    AUGUR_ARG_CHECK(op.peer >= 0 && op.peer < pipeline_->size(), op_text(stage, op), " in a ",
                    pipeline_->size(), "-stage pipeline");
    what += (what.empty() ? "" : "; ") + op_text(stage, op);
    if (op.op == CommOp::Kind::Send) {
      AUGUR_ARG_CHECK(op.data.device() == dev, op_text(stage, op), ": the data is on ",
                      op.data.device().str(), ", NCCL sends from ", dev.str());
      continue;
    }
    AUGUR_ARG_CHECK(op.expect_shape.has_value(), op_text(stage, op),
                    ": NCCL must know a message's shape before it arrives, and this receive "
                    "does not (EngineOptions::micro_batch_input)");
    // Allocated on the compute stream before the event that the comm stream waits for, so
    // the receive writes memory that stream order has handed over.
    op.received = Message{};
    op.received.owned = Tensor::empty(*op.expect_shape, op.expect_dtype, dev, &stream);
    op.received.view = op.received.owned.view();
  }
  run_on_comm_stream(*pipeline_, stream, what, deadline, [&] {
    pipeline_->check(ncclGroupStart(), "ncclGroupStart");
    for (CommOp& op : ops) {
      if (op.op == CommOp::Kind::Send) {
        const size_t n = bytes_of(op.data);
        if (n > 0)
          pipeline_->check(ncclSend(op.data.raw(), n, ncclUint8, op.peer, pipeline_->get(),
                                    comm_stream_.handle()),
                           "ncclSend");
      } else {
        const size_t n = bytes_of(op.received.view);
        if (n > 0)
          pipeline_->check(ncclRecv(op.received.view.raw(), n, ncclUint8, op.peer, pipeline_->get(),
                                    comm_stream_.handle()),
                           "ncclRecv");
      }
    }
    pipeline_->check(ncclGroupEnd(), "ncclGroupEnd");
  });
  // Completed: the data is on the device, and the compute stream already waits for it.
  for (CommOp& op : ops) op.owned = Tensor();
}

void NcclTransport::send(int from_stage, int to_stage, MessageKind kind, int micro_batch,
                         const TensorView& data, Tensor owned, const Stream& stream) {
  // A lone send completes only once it is received; the engine's default watchdog bounds it.
  send_alone(from_stage, to_stage, kind, micro_batch, data, std::move(owned), stream,
             std::chrono::steady_clock::now() + std::chrono::seconds(300));
}

Message NcclTransport::receive(int stage, MessageKind kind, int micro_batch, const Stream& stream,
                               std::chrono::steady_clock::time_point deadline) {
  return receive_alone(stage, kind, micro_batch, stream, deadline);  // refused: shape unknown
}

void NcclTransport::average_gradients(int stage, const TensorView& grads, const Stream& stream,
                                      std::chrono::steady_clock::time_point deadline) {
  if (!replicas_ || grads.empty()) return;  // (one replica still runs: a check on one GPU)
  AUGUR_CHECK(grads.dtype() == DType::F32, "gradients of dtype ", dtype_name(grads.dtype()));
  const std::string what = "the gradient all-reduce of stage " + std::to_string(stage);
  NcclComm& c = *replicas_;
  run_on_comm_stream(c, stream, what, deadline, [&] {
    // The mean on replica 0, then its bits to every replica.
    c.check(ncclReduce(grads.raw(), grads.raw(), size_t(grads.numel()), ncclFloat, ncclAvg, 0,
                       c.get(), comm_stream_.handle()),
            "ncclReduce");
    c.wait_ready(deadline, what);
    c.check(ncclBroadcast(grads.raw(), grads.raw(), size_t(grads.numel()), ncclFloat, 0, c.get(),
                          comm_stream_.handle()),
            "ncclBroadcast");
  });
}

void NcclTransport::abort(const std::string& why) {
  // The stage's thread, waiting on a group or at its next one, aborts the communicator.
  pipeline_->request_stop(why);
  if (replicas_) replicas_->request_stop(why);
}

void NcclTransport::begin_run() {
  AUGUR_CHECK(!pipeline_->aborted() && !(replicas_ && replicas_->aborted()),
              "the NCCL communicator was aborted after a failed run and cannot be used again; "
              "restart the job (from its last checkpoint)");
  pipeline_->clear_stop();
  if (replicas_) replicas_->clear_stop();
}

}  // namespace augur
