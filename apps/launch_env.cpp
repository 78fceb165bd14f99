#include "apps/launch_env.h"

#include <cstdlib>
#include <string>

#include "runtime/error.h"

namespace augur {

namespace {

struct Names {
  const char* launcher;
  const char* rank;
  const char* size;
  const char* local_rank;  // may be absent
};

int parse_int(const char* name, const char* text) {
  const std::string s(text);
  size_t used = 0;
  int value = 0;
  try {
    value = std::stoi(s, &used);
  } catch (const std::exception&) {
    used = std::string::npos;
  }
  AUGUR_ARG_CHECK(!s.empty() && used == s.size(), "environment variable ", name, "='", s,
                  "' is not an integer");
  return value;
}

}  // namespace

LaunchEnv read_launch_env(const std::function<const char*(const char*)>& get) {
  static const Names kLaunchers[] = {
      {"torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK"},
      {"mpirun", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},
      {"pmi", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID"},
      {"srun", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"},
  };
  for (const Names& n : kLaunchers) {
    const char* rank = get(n.rank);
    const char* size = get(n.size);
    if (!rank && !size) continue;
    AUGUR_ARG_CHECK(rank && size, "the ", n.launcher, " environment is incomplete: ", n.rank,
                    rank ? " is set but " : " is not set but ", n.size, size ? " is" : " is not");
    LaunchEnv e;
    e.launcher = n.launcher;
    e.rank = parse_int(n.rank, rank);
    e.world_size = parse_int(n.size, size);
    AUGUR_ARG_CHECK(e.world_size >= 1 && e.rank >= 0 && e.rank < e.world_size, n.rank, "=", e.rank,
                    " is outside the ", n.size, "=", e.world_size, " ranks");
    if (const char* local = get(n.local_rank)) e.local_rank = parse_int(n.local_rank, local);
    AUGUR_ARG_CHECK(e.local_rank >= 0 && e.local_rank < e.world_size, n.local_rank, "=",
                    e.local_rank, " is outside the job's ", e.world_size, " ranks");
    if (e.launcher == "torchrun") {
      if (const char* a = get("MASTER_ADDR")) e.master_addr = a;
      if (const char* p = get("MASTER_PORT")) e.master_port = parse_int("MASTER_PORT", p);
    }
    return e;
  }
  return LaunchEnv{};
}

std::string nccl_comm_id(const LaunchEnv& env, const std::function<const char*(const char*)>& get) {
  if (const char* id = get("NCCL_COMM_ID"); id && *id) return id;
  AUGUR_ARG_CHECK(!env.master_addr.empty() && env.master_port > 0,
                  "NCCL needs the rendezvous address: set MASTER_ADDR and MASTER_PORT (torchrun "
                  "sets both) or NCCL_COMM_ID=host:port");
  int port = env.master_port;
  if (const char* p = get("AUGUR_NCCL_PORT")) {
    port = parse_int("AUGUR_NCCL_PORT", p);
  } else if (const char* store = get("TORCHELASTIC_USE_AGENT_STORE");
             store && std::string(store) == "True") {
    port = env.master_port + 1;  // the agent's store holds MASTER_PORT itself
  }
  AUGUR_ARG_CHECK(port > 0 && port < 65536, "NCCL's bootstrap port ", port,
                  " is not a TCP port (AUGUR_NCCL_PORT, MASTER_PORT)");
  return env.master_addr + ":" + std::to_string(port);
}

LaunchEnv read_launch_env() {
  return read_launch_env([](const char* name) { return std::getenv(name); });
}

RankPlace place_of(int rank, int world_size, int stages, int replicas) {
  AUGUR_ARG_CHECK(stages >= 1 && replicas >= 1, "stages and replicas must be positive");
  AUGUR_ARG_CHECK(world_size == stages * replicas, "the launcher started ", world_size,
                  " processes; --pp-stages ", stages, " x --dp-replicas ", replicas, " needs ",
                  stages * replicas);
  AUGUR_ARG_CHECK(rank >= 0 && rank < world_size, "rank ", rank, " of ", world_size);
  return {rank / replicas, rank % replicas};
}

int rank_of(int stage, int replica, int replicas) {
  return stage * replicas + replica;
}

}  // namespace augur
