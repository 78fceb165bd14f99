// This process's part in a job of several: one process per pipeline stage (apps/launch_env.h
// gives the rank layout), the transport between them, and the few collectives the training
// loop needs between runs (gathering figures and arenas on rank 0, which alone writes files).
// Data parallelism: R replicas of the pipeline, a stage's replicas averaging its gradients
// before each Step.
//   CPU ranks: MPI (mpirun, srun) carries everything.
//   GPU ranks: NCCL carries the activations, gradients and the all-reduce. Its world
//     communicator is bootstrapped from MPI under an MPI launcher (rank 0's ncclUniqueId
//     broadcast), else from NCCL_COMM_ID (torchrun's protocol, apps/launch_env.h), and split
//     into the pipelines and the data-parallel groups. Between runs the gathering goes over
//     MPI where there is MPI, else over NCCL.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "apps/launch_env.h"
#include "pipeline/transport.h"
#include "runtime/device.h"

namespace augur {

// Pipeline replicas of a launch: `replicas` (--dp-replicas) when given, else the processes
// per stage; 1 for a single process.
int replicas_for(const LaunchEnv& env, int stages, int replicas);

class Cluster {
 public:
  // Null when the launcher started one process. Throws before any work for a launch this
  // build cannot serve or whose size is not stages x replicas (replicas 0: size / stages).
  // `device`: where this rank's stage runs (apps/trainer.cpp chooses it).
  static std::unique_ptr<Cluster> join(const LaunchEnv& env, int stages, int replicas,
                                       const Device& device);
  ~Cluster();

  int rank() const { return env_.rank; }
  int size() const { return env_.world_size; }
  int stage() const { return place_.stage; }
  int replica() const { return place_.replica; }
  int stages() const { return stages_; }
  int replicas() const { return replicas_; }
  bool root() const { return env_.rank == 0; }
  const Device& device() const { return device_; }
  // "MPI" or "NCCL": what carries the stages' messages.
  const char* transport_name() const { return nccl_world_ ? "NCCL" : "MPI"; }
  const LaunchEnv& env() const { return env_; }
  // Which rank runs which stage of which replica, for the start-up message.
  std::string layout() const;
  // Between this replica's stages.
  std::shared_ptr<Transport> transport() const { return transport_; }
  // Collective: returns once every rank has called it.
  void barrier() const;
  // Collective: every rank's bytes, by rank, on rank 0 (empty elsewhere).
  std::vector<std::string> gather(const std::string& mine) const;
  // Ends every rank of the job with `code` (the launcher stops the others).
  [[noreturn]] void abort(int code) const;

 private:
  Cluster(LaunchEnv env, int stages, int replicas, const Device& device);
  void join_nccl();
  LaunchEnv env_;
  int stages_ = 1, replicas_ = 1;
  RankPlace place_;
  Device device_;
  std::shared_ptr<Transport> transport_;
  std::shared_ptr<void> nccl_world_;  // NcclComm, where NCCL carries the messages
};

}  // namespace augur
