// Entry point of the tests that run as several MPI ranks (under mpirun, started by CTest).
// Every rank runs every test case in the same order; a rank's failure count is agreed by all,
// so every rank exits with the same status and mpirun reports it.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>

#include "pipeline/mpi/mpi_world.h"

int main(int argc, char* argv[]) {
  if (!augur::MpiWorld::launched_by_mpi()) {
    std::fprintf(stderr, "test_mpi: start it with mpirun -np N (N ranks, one per stage)\n");
    return 2;
  }
  augur::MpiWorld& world = augur::MpiWorld::get();
  Catch::Session session;
  if (int rc = session.applyCommandLine(argc, argv)) return rc;
  int failed = session.run();
  MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, world.comm());
  return failed == 0 ? 0 : 1;
}
