// Activations and gradients between stages in different processes on GPUs, over NCCL: each
// run of adjacent sends and receives of a stage's list is one ncclGroupStart/End (NCCL
// matches a pair's operations untagged, in issue order, and each blocks until matched, so
// ungrouped crossing sends deadlock; pipeline/rendezvous_check.h proves the grouped lists
// complete). The operations run on a communication stream of their own, after the compute
// queued before them (an event), and the compute queued after them waits for them (an event).
//
// NCCL needs a receive's size before the message comes (the counts of a send and its receive
// must be equal) and carries no header, so every receive must know its shape and dtype ahead
// (CommOp::expect_shape: the engine derives them from EngineOptions::micro_batch_input).
//
// The host waits, polling, for each group to complete before it goes on. That costs the
// overlap of a group with the compute queued after it, and buys two things: the watchdog is
// exact (a group that does not complete by the deadline aborts the communicator and names the
// stage's position, as the other transports do), and no NCCL operation is pending while the
// stage allocates or frees device memory (cudaMalloc and cudaFree may synchronise the device,
// and would then wait for a receive whose sender waits for this rank: a deadlock).
//
// Data parallelism: before each Step the replicas of the stage reduce its gradient arena onto
// replica 0 with ncclAvg, which broadcasts the result: every replica gets the same bits, which
// an all-reduce does not promise.
#pragma once

#include <memory>
#include <string>

#include "pipeline/nccl/nccl_comm.h"
#include "pipeline/transport.h"

namespace augur {

class NcclTransport : public Transport {
 public:
  // `pipeline`: this replica's pipeline, its rank r running stage r. `replicas`, when given:
  // this stage in every pipeline, its rank d being replica d.
  explicit NcclTransport(std::shared_ptr<NcclComm> pipeline,
                         std::shared_ptr<NcclComm> replicas = nullptr);
  ~NcclTransport() override;

  // One operation as a group of one (a receive must know its shape: see above).
  void send(int from_stage, int to_stage, MessageKind kind, int micro_batch, const TensorView& data,
            Tensor owned, const Stream& stream) override;
  Message receive(int stage, MessageKind kind, int micro_batch, const Stream& stream,
                  std::chrono::steady_clock::time_point deadline) override;
  void exchange(int stage, std::vector<CommOp>& ops, const Stream& stream,
                std::chrono::steady_clock::time_point deadline) override;
  void average_gradients(int stage, const TensorView& grads, const Stream& stream,
                         std::chrono::steady_clock::time_point deadline) override;
  void abort(const std::string& why) override;
  // A communicator aborted after a failure cannot be used again: the next run is refused.
  void begin_run() override;

 private:
  // Queues `issue` (NCCL calls on the comm stream) after the compute queued on `stream`,
  // makes `stream` wait for it, and waits for it to complete.
  template <class Issue>
  void run_on_comm_stream(NcclComm& comm, const Stream& stream, const std::string& what,
                          std::chrono::steady_clock::time_point deadline, const Issue& issue);
  std::shared_ptr<NcclComm> pipeline_, replicas_;
  Stream comm_stream_;
};

}  // namespace augur
