#include "apps/cluster.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <sstream>

#include "runtime/error.h"
#if AUGUR_WITH_MPI
#include "pipeline/mpi/mpi_transport.h"
#include "pipeline/mpi/mpi_world.h"
#endif
#if AUGUR_WITH_NCCL
#include "pipeline/nccl/nccl_comm.h"
#include "pipeline/nccl/nccl_transport.h"
#endif

namespace augur {

namespace {

// How long ranks wait for each other while the job sets up (every rank starts its process,
// loads its data and builds its model first), and for a gather between runs.
[[maybe_unused]] constexpr std::chrono::seconds kJoinTimeout{600};  // unused without NCCL

bool mpi_launch() {
#if AUGUR_WITH_MPI
  return MpiWorld::launched_by_mpi();
#else
  return false;
#endif
}

}  // namespace

int replicas_for(const LaunchEnv& env, int stages, int replicas) {
  if (!env.multi_process()) return 1;
  return replicas > 0 ? replicas : std::max(1, env.world_size / std::max(1, stages));
}

std::unique_ptr<Cluster> Cluster::join(const LaunchEnv& env, int stages, int replicas,
                                       const Device& device) {
  if (!env.multi_process()) return nullptr;
  const std::string launch =
      "launched as " + std::to_string(env.world_size) + " processes by " + env.launcher;
  if (device.is_cuda()) {
#if !AUGUR_WITH_NCCL
    throw Error(launch + " on " + device.str() +
                ", but this augur was built without the CUDA backend, so without NCCL");
#endif
  } else {
    if (env.launcher == "torchrun")
      throw Error(launch +
                  " on the CPU: torchrun-style launches run GPU ranks over NCCL; start CPU "
                  "ranks with mpirun or srun (MPI)");
#if !AUGUR_WITH_MPI
    throw Error(launch + " on the CPU, but this augur was built without MPI (AUGUR_WITH_MPI=OFF)");
#endif
  }
  return std::unique_ptr<Cluster>(
      new Cluster(env, stages, replicas_for(env, stages, replicas), device));
}

Cluster::Cluster(LaunchEnv env, int stages, int replicas, const Device& device)
    : env_(std::move(env)), stages_(stages), replicas_(replicas), device_(device) {
  place_ = place_of(env_.rank, env_.world_size, stages_, replicas_);
#if AUGUR_WITH_MPI
  if (mpi_launch()) {
    MpiWorld& world = MpiWorld::get();
    AUGUR_CHECK(world.size() == env_.world_size && world.rank() == env_.rank, "MPI says rank ",
                world.rank(), " of ", world.size(), ", the launcher's environment rank ", env_.rank,
                " of ", env_.world_size);
  }
#endif
  if (device_.is_cuda()) {
    join_nccl();
    return;
  }
#if AUGUR_WITH_MPI
  MpiWorld& world = MpiWorld::get();
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

void Cluster::join_nccl() {
#if AUGUR_WITH_NCCL
  ncclUniqueId id;
  if (mpi_launch()) {
#if AUGUR_WITH_MPI
    // Rank 0 makes the id; MPI carries it to the others.
    if (env_.rank == 0) id = nccl_new_id();
    const int rc = MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, MpiWorld::get().comm());
    AUGUR_CHECK(rc == MPI_SUCCESS, "MPI_Bcast of the NCCL id failed: ", mpi_error_text(rc));
#endif
  } else {
    // Every rank derives the same id from the bootstrap root's address.
    id = nccl_id_from_comm_id(nccl_comm_id(env_, [](const char* n) { return std::getenv(n); }));
  }
  const auto deadline = std::chrono::steady_clock::now() + kJoinTimeout;
  auto world = NcclComm::create(id, env_.world_size, env_.rank, device_, deadline);
  // Both splits are collective over the world, in this order on every rank.
  auto pipeline = world->split(place_.replica, place_.stage, deadline);
  std::shared_ptr<NcclComm> replicas;
  if (replicas_ > 1) replicas = world->split(place_.stage, place_.replica, deadline);
  transport_ = std::make_shared<NcclTransport>(pipeline, replicas);
  nccl_world_ = world;
#endif
}

Cluster::~Cluster() = default;

std::string Cluster::layout() const {
  std::ostringstream os;
  os << size() << " processes (" << env_.launcher << ", " << transport_name()
     << "), rank = stage x " << replicas_ << " + replica:";
  for (int d = 0; d < replicas_; ++d) {
    os << " pipeline " << d << " = ranks";
    for (int s = 0; s < stages_; ++s) os << (s ? "," : " ") << rank_of(s, d, replicas_);
    os << ";";
  }
  os << " rank 0 writes the files";
  return os.str();
}

void Cluster::barrier() const {
#if AUGUR_WITH_MPI
  if (mpi_launch()) return MpiWorld::get().barrier();
#endif
  // Over NCCL: gathering nothing still all-gathers every rank's size first.
  (void)gather(std::string());
}

std::vector<std::string> Cluster::gather(const std::string& mine) const {
#if AUGUR_WITH_MPI
  if (mpi_launch()) return MpiWorld::get().gather(mine, 0);
#endif
#if AUGUR_WITH_NCCL
  if (nccl_world_)
    return nccl_gather(*static_cast<NcclComm*>(nccl_world_.get()), mine, 0,
                       std::chrono::steady_clock::now() + kJoinTimeout);
#endif
  return {mine};
}

void Cluster::abort(int code) const {
#if AUGUR_WITH_MPI
  if (mpi_launch()) MpiWorld::get().abort(code);
#endif
  // Without MPI the launcher (torchrun) ends the other ranks when one exits with an error.
  std::_Exit(code);
}

}  // namespace augur
