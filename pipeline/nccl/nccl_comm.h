// One NCCL communicator, created in NCCL's nonblocking mode so that no NCCL call can hang the
// host: a call returns at once and the communicator is then polled until its work is handed
// to the streams. A peer that never comes (it failed, or its lists disagree) would otherwise
// block ncclCommInitRank, or the first send to it while the connection is set up, for ever;
// polled, it ends at a deadline, the communicator aborted and the operation named.
//
// Bootstrap: every rank needs the same ncclUniqueId. Under an MPI launcher rank 0 makes one
// and broadcasts it (apps/cluster.cpp); under torchrun-style launchers NCCL_COMM_ID names the
// address of the bootstrap root, and then every rank computes the same id locally
// (`nccl_id_from_comm_id`). One world communicator is created that way and split into the
// pipeline and data-parallel groups (NCCL can bootstrap only one communicator through
// NCCL_COMM_ID).
#pragma once

#include <nccl.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/device.h"
#include "runtime/stream.h"

namespace augur {

// NCCL's version as "2.28.9" (of the library linked, not the header).
std::string nccl_version();
// A fresh id (rank 0 of an MPI launch makes it and broadcasts the bytes).
ncclUniqueId nccl_new_id();
// The id every rank derives from `comm_id` ("host:port", NCCL_COMM_ID's format): NCCL reads
// NCCL_COMM_ID when making an id, so the variable is set for this process.
ncclUniqueId nccl_id_from_comm_id(const std::string& comm_id);

class NcclComm {
 public:
  using Clock = std::chrono::steady_clock;
  // Collective over the `size` ranks given `id`: this one is `rank`, bound to `device`.
  static std::shared_ptr<NcclComm> create(const ncclUniqueId& id, int size, int rank,
                                          const Device& device, Clock::time_point deadline);
  // Collective over this communicator: the ranks of one `color` form a new one, ordered by
  // `key`.
  std::shared_ptr<NcclComm> split(int color, int key, Clock::time_point deadline);
  ~NcclComm();
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;

  ncclComm_t get() const { return comm_; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  const Device& device() const { return device_; }

  // Polls until the communicator's last call has handed its work to the streams (nonblocking
  // mode), as NCCL requires before the next call or any wait on those streams. An
  // asynchronous error, or `deadline` passing, aborts the communicator and throws, naming
  // `what`.
  void wait_ready(Clock::time_point deadline, const std::string& what);
  // Polls until the work queued so far on `stream` is done (never a blocking synchronize: a
  // receive whose sender never comes would block it for ever); at `deadline` the
  // communicator is aborted, which ends the pending operations, and this throws.
  void wait_done(const Stream& stream, Clock::time_point deadline, const std::string& what);
  // Throws for a result other than success or "in progress", with NCCL's last error text.
  void check(ncclResult_t result, const char* call) const;
  // Ends every operation of this communicator (they complete with garbage); it cannot be
  // used again. Only from the thread that uses it (NCCL frees it).
  void abort() noexcept;
  bool aborted() const { return aborted_.load(); }
  // From any thread: the thread waiting on this communicator, if any, aborts it and throws
  // Error(`why`), and so does the next wait, until clear_stop().
  void request_stop(const std::string& why);
  void clear_stop();

 private:
  NcclComm(ncclComm_t comm, const Device& device);
  ncclComm_t comm_ = nullptr;
  Device device_;
  // Aborts and throws if a stop was requested.
  void check_stop();
  int rank_ = 0, size_ = 1;
  std::atomic<bool> aborted_{false}, stop_{false};
  std::mutex stop_mutex_;
  std::string stop_reason_;
};

// Collective over `comm`: every rank's bytes, by rank, on `root` (empty elsewhere); for
// launches without MPI. Sizes go by an all-gather, the bytes by point-to-point sends to the
// root, through device memory.
std::vector<std::string> nccl_gather(NcclComm& comm, const std::string& mine, int root,
                                     NcclComm::Clock::time_point deadline);

}  // namespace augur
