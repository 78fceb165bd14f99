#include "apps/cluster.h"

#include <cstdlib>
#include <sstream>

#include "runtime/error.h"
#if AUGUR_WITH_MPI
#include "pipeline/mpi/mpi_transport.h"
#include "pipeline/mpi/mpi_world.h"
#endif

namespace augur {

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
  const int r = replicas > 0 ? replicas : env.world_size / stages;
  AUGUR_ARG_CHECK(r == 1, "--dp-replicas ", r,
                  ": data parallelism across pipelines is not built yet; launch "
                  "--pp-stages processes (one per stage)");
  return std::unique_ptr<Cluster>(new Cluster(env, stages, r));
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
  transport_ = std::make_shared<MpiTransport>(world.comm(), ranks);
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
