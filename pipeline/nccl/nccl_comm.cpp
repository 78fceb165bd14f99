#include "pipeline/nccl/nccl_comm.h"

#include <cstdlib>
#include <cstring>

#include "pipeline/transport.h"
#include "runtime/cuda_check.h"
#include "runtime/error.h"
#include "runtime/host_data.h"
#include "runtime/spin_wait.h"

namespace augur {

namespace {
ncclConfig_t nonblocking_config() {
  ncclConfig_t c = NCCL_CONFIG_INITIALIZER;
  c.blocking = 0;
  return c;
}
}  // namespace

std::string nccl_version() {
  int v = 0;
  NCCL_CHECK(ncclGetVersion(&v));
  // NCCL_VERSION(X, Y, Z) = X * 10000 + Y * 100 + Z since 2.9.
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." +
         std::to_string(v % 100);
}

ncclUniqueId nccl_new_id() {
  ncclUniqueId id;
  NCCL_CHECK(ncclGetUniqueId(&id));
  return id;
}

ncclUniqueId nccl_id_from_comm_id(const std::string& comm_id) {
  AUGUR_ARG_CHECK(comm_id.find(':') != std::string::npos, "NCCL_COMM_ID \"", comm_id,
                  "\" is not host:port");
  setenv("NCCL_COMM_ID", comm_id.c_str(), 1);
  return nccl_new_id();
}

NcclComm::NcclComm(ncclComm_t comm, const Device& device) : comm_(comm), device_(device) {}

std::shared_ptr<NcclComm> NcclComm::create(const ncclUniqueId& id, int size, int rank,
                                           const Device& device, Clock::time_point deadline) {
  AUGUR_ARG_CHECK(device.is_cuda(), "an NCCL communicator needs a GPU, not ", device.str());
  AUGUR_ARG_CHECK(rank >= 0 && rank < size, "rank ", rank, " of ", size);
  const DeviceGuard bind(device);
  ncclConfig_t config = nonblocking_config();
  ncclComm_t comm = nullptr;
  const ncclResult_t r = ncclCommInitRankConfig(&comm, size, id, rank, &config);
  std::shared_ptr<NcclComm> c(new NcclComm(comm, device));
  c->rank_ = rank;
  c->size_ = size;
  c->check(r, "ncclCommInitRankConfig");
  c->wait_ready(deadline, "creating the NCCL communicator of " + std::to_string(size) +
                              " ranks (rank " + std::to_string(rank) + ")");
  return c;
}

std::shared_ptr<NcclComm> NcclComm::split(int color, int key, Clock::time_point deadline) {
  const DeviceGuard bind(device_);
  ncclConfig_t config = nonblocking_config();
  ncclComm_t comm = nullptr;
  check(ncclCommSplit(comm_, color, key, &comm, &config), "ncclCommSplit");
  wait_ready(deadline, "splitting the NCCL communicator");
  std::shared_ptr<NcclComm> c(new NcclComm(comm, device_));
  c->wait_ready(deadline, "splitting the NCCL communicator");
  int n = 0, me = 0;
  c->check(ncclCommCount(comm, &n), "ncclCommCount");
  c->check(ncclCommUserRank(comm, &me), "ncclCommUserRank");
  c->size_ = n;
  c->rank_ = me;
  return c;
}

NcclComm::~NcclComm() {
  // An aborted communicator is already freed (ncclCommAbort reclaims it): a second abort
  // would free it again.
  if (!comm_ || aborted_.load()) return;
  // Flush what was issued, then free; a communicator that does not finish in time (a peer
  // gone) is aborted instead of hanging the exit.
  const DeviceGuard bind(device_, std::nothrow);
  ncclResult_t state = ncclCommFinalize(comm_);
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  poll_until(
      [&] {
        if (state == ncclInProgress) ncclCommGetAsyncError(comm_, &state);
        return state != ncclInProgress;
      },
      deadline);
  if (state == ncclSuccess)
    ncclCommDestroy(comm_);
  else
    ncclCommAbort(comm_);
}

void NcclComm::check(ncclResult_t result, const char* call) const {
  if (result == ncclSuccess || result == ncclInProgress) return;
  // After an abort the communicator is freed: only NCCL's last error of the process remains.
  const ncclComm_t live = aborted_.load() ? nullptr : comm_;
  throw Error(std::string(call) + " failed: " + ncclGetErrorString(result) + " (" +
              ncclGetLastError(live) + ")");
}

void NcclComm::wait_ready(Clock::time_point deadline, const std::string& what) {
  AUGUR_CHECK(!aborted_.load(), what, ": the NCCL communicator was aborted by an earlier failure");
  ncclResult_t state = ncclInProgress;
  const bool ready = poll_until(
      [&] {
        check_stop();
        const ncclResult_t r = ncclCommGetAsyncError(comm_, &state);
        if (r != ncclSuccess) state = r;
        return state != ncclInProgress;
      },
      deadline);
  if (!ready) {
    abort();
    throw ReceiveTimeout(what +
                         ": not done when the deadline passed (a rank that never came, "
                         "or ranks whose operations disagree); the NCCL communicator "
                         "was aborted");
  }
  if (state != ncclSuccess) {
    const std::string text =
        ncclGetErrorString(state) + std::string(" (") + ncclGetLastError(comm_) + ")";
    abort();
    throw Error(what + " failed: " + text);
  }
}

void NcclComm::wait_done(const Stream& stream, Clock::time_point deadline,
                         const std::string& what) {
  Event done(stream.device());
  done.record(stream);
  if (poll_until(
          [&] {
            check_stop();
            return done.query();
          },
          deadline))
    return;
  abort();
  // The aborted operations end; what they left on the stream can be waited for now.
  stream.synchronize();
  throw ReceiveTimeout(what +
                       ": not done when the deadline passed (a rank that never came, "
                       "or ranks whose operations disagree); the NCCL communicator was "
                       "aborted");
}

void NcclComm::abort() noexcept {
  if (aborted_.exchange(true) || !comm_) return;
  ncclCommAbort(comm_);
}

void NcclComm::request_stop(const std::string& why) {
  std::lock_guard<std::mutex> lock(stop_mutex_);
  stop_reason_ = why;
  stop_.store(true);
}

void NcclComm::clear_stop() {
  std::lock_guard<std::mutex> lock(stop_mutex_);
  stop_.store(false);
  stop_reason_.clear();
}

void NcclComm::check_stop() {
  if (!stop_.load()) return;
  abort();
  std::lock_guard<std::mutex> lock(stop_mutex_);
  throw Error(stop_reason_);
}

std::vector<std::string> nccl_gather(NcclComm& comm, const std::string& mine, int root,
                                     NcclComm::Clock::time_point deadline) {
  const Device& dev = comm.device();
  const Stream stream = Stream::create(dev);
  const int n = comm.size();
  // Sizes: every rank's, on every rank.
  const int64_t my_size = static_cast<int64_t>(mine.size());
  Tensor sizes = Tensor::empty(Shape{n}, DType::I64, dev, &stream);
  const Tensor one = copy_of(
      TensorView(const_cast<int64_t*>(&my_size), DType::I64, Device::cpu(), Shape{1}), dev, stream);
  comm.check(ncclAllGather(one.view().raw(), sizes.view().raw(), 1, ncclInt64, comm.get(),
                           stream.handle()),
             "ncclAllGather");
  comm.wait_ready(deadline, "gathering sizes over NCCL");
  comm.wait_done(stream, deadline, "gathering sizes over NCCL");
  const Tensor host_sizes = copy_of(sizes, Device::cpu(), stream);
  stream.synchronize();
  const int64_t* sz = host_sizes.view().data<int64_t>();
  // The bytes: each rank sends its own to the root, which receives all in one group.
  const int me = comm.rank();
  std::vector<Tensor> buffers(static_cast<size_t>(n));
  Tensor mine_dev;
  if (my_size > 0) {
    mine_dev = copy_of(
        TensorView(const_cast<char*>(mine.data()), DType::U8, Device::cpu(), Shape{my_size}), dev,
        stream);
  }
  comm.check(ncclGroupStart(), "ncclGroupStart");
  if (me == root) {
    for (int r = 0; r < n; ++r) {
      if (sz[r] == 0) continue;
      buffers[size_t(r)] = Tensor::empty(Shape{sz[r]}, DType::U8, dev, &stream);
      if (r == me) continue;
      comm.check(ncclRecv(buffers[size_t(r)].view().raw(), size_t(sz[r]), ncclUint8, r, comm.get(),
                          stream.handle()),
                 "ncclRecv");
    }
  } else if (my_size > 0) {
    comm.check(ncclSend(mine_dev.view().raw(), size_t(my_size), ncclUint8, root, comm.get(),
                        stream.handle()),
               "ncclSend");
  }
  comm.check(ncclGroupEnd(), "ncclGroupEnd");
  comm.wait_ready(deadline, "gathering bytes over NCCL");
  comm.wait_done(stream, deadline, "gathering bytes over NCCL");
  std::vector<std::string> out;
  if (me != root) return out;
  out.resize(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r) {
    if (r == me) {
      out[size_t(r)] = mine;
    } else if (sz[r] > 0) {
      const Tensor h = copy_of(buffers[size_t(r)], Device::cpu(), stream);
      stream.synchronize();
      out[size_t(r)].assign(static_cast<const char*>(h.view().raw()), size_t(sz[r]));
    }
  }
  stream.synchronize();
  return out;
}

}  // namespace augur
