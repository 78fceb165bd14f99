#include "apps/cluster.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "runtime/error.h"
#if AUGUR_WITH_MPI
#include "pipeline/mpi/mpi_transport.h"
#include "pipeline/mpi/mpi_world.h"
#endif

namespace augur {

int replicas_for(const LaunchEnv& env, int stages, int replicas) {
  if (!env.multi_process()) return 1;
  return replicas > 0 ? replicas : std::max(1, env.world_size / std::max(1, stages));
}

std::unique_ptr<Cluster> Cluster::join(const LaunchEnv& env, int stages, int replicas) {
  if (!env.multi_process()) return nullptr;
  AUGUR_ARG_CHECK(env.launcher != "torchrun", "launched by torchrun as ", env.world_size,
                  " processes: torchrun-style launches need the NCCL transport for GPU ranks, "
                  "which this build does not have yet; start CPU ranks with mpirun or srun");
#if !AUGUR_WITH_MPI
  (void)stages;
  (void)replicas;
  throw Error("launched as " + std::to_string(env.world_size) + " processes by " + env.launcher +
              ", but this augur was built without MPI (AUGUR_WITH_MPI=OFF)");
#else
  return std::unique_ptr<Cluster>(new Cluster(env, stages, replicas_for(env, stages, replicas)));
#endif
}

Cluster::Cluster(LaunchEnv env, int stages, int replicas)
    : env_(std::move(env)), stages_(stages), replicas_(replicas) {
  place_ = place_of(env_.rank, env_.world_size, stages_, replicas_);
#if AUGUR_WITH_MPI
  MpiWorld& world = MpiWorld::get();
  AUGUR_CHECK(world.size() == env_.world_size && world.rank() == env_.rank, "MPI says rank ",
              world.rank(), " of ", world.size(), ", the launcher's environment rank ", env_.rank,
              " of ", env_.world_size);
  std::vector<int> ranks;
  for (int s = 0; s < stages_; ++s) ranks.push_back(rank_of(s, place_.replica, replicas_));
  // The replicas of this rank's stage, ordered by replica, average its gradients.
  MPI_Comm replicas_of_stage = MPI_COMM_NULL;
  if (replicas_ > 1) {
    const int rc = MPI_Comm_split(world.comm(), place_.stage, place_.replica, &replicas_of_stage);
    AUGUR_CHECK(rc == MPI_SUCCESS, "MPI_Comm_split failed: ", mpi_error_text(rc));
  }
  transport_ =
      std::make_shared<MpiTransport>(world.comm(), ranks, MpiTransportOptions{}, replicas_of_stage);
  if (replicas_of_stage != MPI_COMM_NULL) MPI_Comm_free(&replicas_of_stage);  // duplicated
#endif
}

Cluster::~Cluster() = default;

std::string Cluster::layout() const {
  std::ostringstream os;
  os << size() << " processes (" << env_.launcher << "), rank = stage x " << replicas_
     << " + replica:";
  for (int d = 0; d < replicas_; ++d) {
    os << " pipeline " << d << " = ranks";
    for (int s = 0; s < stages_; ++s) os << (s ? "," : " ") << rank_of(s, d, replicas_);
    os << ";";
  }
  os << " rank 0 writes the files";
  return os.str();
}

std::vector<std::string> Cluster::gather(const std::string& mine) const {
#if AUGUR_WITH_MPI
  return MpiWorld::get().gather(mine, 0);
#else
  return {mine};
#endif
}

void Cluster::abort(int code) const {
#if AUGUR_WITH_MPI
  MpiWorld::get().abort(code);
#else
  std::_Exit(code);
#endif
}

}  // namespace augur
