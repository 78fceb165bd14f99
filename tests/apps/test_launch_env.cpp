// Which process of a job this is, from each launcher's variables; the rank layout.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "apps/launch_env.h"

using namespace augur;
using Catch::Matchers::Contains;

namespace {
LaunchEnv read(const std::map<std::string, std::string>& vars) {
  return read_launch_env([&](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}
}  // namespace

TEST_CASE("each launcher's variables give rank, size and local rank", "[apps][launch]") {
  const LaunchEnv none = read({});
  CHECK(none.launcher == "none");
  CHECK_FALSE(none.multi_process());

  const LaunchEnv t = read({{"RANK", "3"},
                            {"WORLD_SIZE", "4"},
                            {"LOCAL_RANK", "1"},
                            {"MASTER_ADDR", "10.0.0.2"},
                            {"MASTER_PORT", "29500"}});
  CHECK(t.launcher == "torchrun");
  CHECK(t.rank == 3);
  CHECK(t.world_size == 4);
  CHECK(t.local_rank == 1);
  CHECK(t.master_addr == "10.0.0.2");
  CHECK(t.master_port == 29500);

  const LaunchEnv m = read({{"OMPI_COMM_WORLD_RANK", "1"},
                            {"OMPI_COMM_WORLD_SIZE", "2"},
                            {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}});
  CHECK(m.launcher == "mpirun");
  CHECK(m.rank == 1);
  CHECK(m.world_size == 2);
  CHECK(m.local_rank == 1);

  const LaunchEnv p = read({{"PMI_RANK", "0"}, {"PMI_SIZE", "8"}, {"MPI_LOCALRANKID", "0"}});
  CHECK(p.launcher == "pmi");
  CHECK(p.world_size == 8);

  const LaunchEnv s = read({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "6"}, {"SLURM_LOCALID", "2"}});
  CHECK(s.launcher == "srun");
  CHECK(s.rank == 5);
  CHECK(s.local_rank == 2);
}

TEST_CASE("torchrun's variables win over mpirun's, mpirun's over Slurm's", "[apps][launch]") {
  // srun starting mpirun-less ranks that also carry torchrun's variables (a wrapper script).
  const LaunchEnv e = read({{"RANK", "1"},
                            {"WORLD_SIZE", "2"},
                            {"OMPI_COMM_WORLD_RANK", "0"},
                            {"OMPI_COMM_WORLD_SIZE", "2"},
                            {"SLURM_PROCID", "0"},
                            {"SLURM_NTASKS", "1"}});
  CHECK(e.launcher == "torchrun");
  CHECK(e.rank == 1);
  const LaunchEnv f = read({{"OMPI_COMM_WORLD_RANK", "1"},
                            {"OMPI_COMM_WORLD_SIZE", "2"},
                            {"SLURM_PROCID", "0"},
                            {"SLURM_NTASKS", "1"}});
  CHECK(f.launcher == "mpirun");
}

TEST_CASE("broken launcher variables are errors naming them", "[apps][launch]") {
  CHECK_THROWS_WITH(read({{"RANK", "0"}}), Contains("RANK") && Contains("WORLD_SIZE"));
  CHECK_THROWS_WITH(read({{"RANK", "4"}, {"WORLD_SIZE", "4"}}), Contains("outside"));
  CHECK_THROWS_WITH(read({{"SLURM_PROCID", "x"}, {"SLURM_NTASKS", "2"}}),
                    Contains("SLURM_PROCID") && Contains("not an integer"));
  CHECK_THROWS_WITH(read({{"PMI_RANK", "0"}, {"PMI_SIZE", "2"}, {"MPI_LOCALRANKID", "7"}}),
                    Contains("MPI_LOCALRANKID"));
}

TEST_CASE("rank layout: the replicas of a stage are neighbours", "[apps][launch]") {
  // K = 3 stages, R = 2 replicas: ranks 0,1 hold stage 0; a pipeline is ranks 0, 2, 4.
  for (int rank = 0; rank < 6; ++rank) {
    const RankPlace p = place_of(rank, 6, 3, 2);
    CHECK(p.stage == rank / 2);
    CHECK(p.replica == rank % 2);
    CHECK(rank_of(p.stage, p.replica, 2) == rank);
  }
  CHECK_THROWS_WITH(place_of(0, 4, 3, 1),
                    Contains("4 processes") && Contains("--pp-stages 3") && Contains("needs 3"));
}

TEST_CASE("NCCL's bootstrap address under torchrun-style launches", "[apps][launch]") {
  std::map<std::string, std::string> vars = {
      {"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "10.0.0.2"}, {"MASTER_PORT", "29500"}};
  const auto id = [&] {
    return nccl_comm_id(read(vars), [&](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    });
  };
  CHECK(id() == "10.0.0.2:29500");  // a free port, as --standalone / c10d hand out
  vars["TORCHELASTIC_USE_AGENT_STORE"] = "False";
  CHECK(id() == "10.0.0.2:29500");
  vars["TORCHELASTIC_USE_AGENT_STORE"] = "True";  // the agent's store listens on MASTER_PORT
  CHECK(id() == "10.0.0.2:29501");
  vars["AUGUR_NCCL_PORT"] = "40000";
  CHECK(id() == "10.0.0.2:40000");
  vars["AUGUR_NCCL_PORT"] = "70000";
  CHECK_THROWS_WITH(id(), Contains("70000") && Contains("AUGUR_NCCL_PORT"));
  vars["NCCL_COMM_ID"] = "head:1234";  // the user's own wins
  CHECK(id() == "head:1234");
  vars.erase("NCCL_COMM_ID");
  vars.erase("AUGUR_NCCL_PORT");
  vars.erase("MASTER_ADDR");
  CHECK_THROWS_WITH(id(), Contains("MASTER_ADDR") && Contains("NCCL_COMM_ID"));
}
