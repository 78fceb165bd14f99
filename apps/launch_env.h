// Which process of a job this is, read from the launcher's environment. Launchers and their
// variables, in the order they are believed (the first complete set wins):
//   torchrun (and anything speaking its protocol): RANK, WORLD_SIZE, LOCAL_RANK, and the
//       rendezvous address MASTER_ADDR, MASTER_PORT;
//   mpirun (OpenMPI): OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE, OMPI_COMM_WORLD_LOCAL_RANK;
//   PMI (MPICH's hydra, Intel MPI, srun --mpi=pmi2): PMI_RANK, PMI_SIZE, MPI_LOCALRANKID;
//   srun (Slurm): SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID.
// None of them: one process. A set with a rank outside [0, size), or a launcher's variables
// only half there, is an error naming the variables.
//
// Rank layout with K stages and R replicas (world = K x R): rank = stage x R + replica, so
// the R replicas of a stage (which all-reduce its gradients) are neighbouring ranks, on one
// node where a node holds R or more ranks, and a pipeline is every R-th rank.
#pragma once

#include <functional>
#include <string>

namespace augur {

struct LaunchEnv {
  std::string launcher = "none";  // "torchrun", "mpirun", "pmi", "srun" or "none"
  int rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr;  // torchrun only
  int master_port = 0;
  bool multi_process() const { return world_size > 1; }
};

// `get(name)` returns the variable's value or nullptr (std::getenv by default).
LaunchEnv read_launch_env(const std::function<const char*(const char*)>& get);
LaunchEnv read_launch_env();

// Where NCCL's bootstrap root listens in a launch without MPI (torchrun's protocol), as
// NCCL_COMM_ID's "host:port": the user's own NCCL_COMM_ID when set; else MASTER_ADDR with
// MASTER_PORT, or with MASTER_PORT + 1 when torchrun's agent already serves its store on
// MASTER_PORT (TORCHELASTIC_USE_AGENT_STORE=True, torchrun's static rendezvous); AUGUR_NCCL_PORT
// names the port instead. Throws, naming the variables, when there is no address.
std::string nccl_comm_id(const LaunchEnv& env, const std::function<const char*(const char*)>& get);

struct RankPlace {
  int stage = 0, replica = 0;
};
// Where `rank` sits with `stages` x `replicas` ranks; throws when the world size is not
// stages x replicas, naming both.
RankPlace place_of(int rank, int world_size, int stages, int replicas);
int rank_of(int stage, int replica, int replicas);

}  // namespace augur
