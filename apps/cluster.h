// This process's part in a job of several: one process per pipeline stage (apps/launch_env.h
// gives the rank layout), the transport between them, and the few collectives the training
// loop needs between runs (gathering figures and arenas on rank 0, which alone writes files).
// Data parallelism: R replicas of the pipeline, a stage's replicas averaging its gradients
// before each Step. Built on MPI: CPU ranks under mpirun or srun. torchrun-style launches need the
// NCCL transport for GPU ranks, which is not built yet, and are refused with that reason.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "apps/launch_env.h"
#include "pipeline/transport.h"

namespace augur {

// Pipeline replicas of a launch: `replicas` (--dp-replicas) when given, else the processes
// per stage; 1 for a single process.
int replicas_for(const LaunchEnv& env, int stages, int replicas);

class Cluster {
 public:
  // Null when the launcher started one process. Throws before any work for a launch this
  // build cannot serve or whose size is not stages x replicas (replicas 0: size / stages).
  static std::unique_ptr<Cluster> join(const LaunchEnv& env, int stages, int replicas);
  ~Cluster();

  int rank() const { return env_.rank; }
  int size() const { return env_.world_size; }
  int stage() const { return place_.stage; }
  int replica() const { return place_.replica; }
  int stages() const { return stages_; }
  int replicas() const { return replicas_; }
  bool root() const { return env_.rank == 0; }
  const LaunchEnv& env() const { return env_; }
  // Which rank runs which stage of which replica, for the start-up message.
  std::string layout() const;
  // Between this replica's stages.
  std::shared_ptr<Transport> transport() const { return transport_; }
  // Collective: every rank's bytes, by rank, on rank 0 (empty elsewhere).
  std::vector<std::string> gather(const std::string& mine) const;
  // Ends every rank of the job with `code` (the launcher stops the others).
  [[noreturn]] void abort(int code) const;

 private:
  Cluster(LaunchEnv env, int stages, int replicas);
  LaunchEnv env_;
  int stages_ = 1, replicas_ = 1;
  RankPlace place_;
  std::shared_ptr<Transport> transport_;
};

}  // namespace augur
