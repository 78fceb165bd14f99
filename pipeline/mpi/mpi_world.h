// The MPI world of a process that an MPI launcher started (mpirun, srun with PMI/PMIx): MPI is
// initialised on first use and finalised at exit, and a process started any other way never
// touches MPI (MPI_Init under no launcher would try to start a singleton runtime).
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

namespace augur {

class MpiWorld {
 public:
  // Whether this process was started by an MPI launcher (its environment variables).
  static bool launched_by_mpi();
  // The world, initialised on the first call (MPI_THREAD_SERIALIZED: a stage's thread does
  // the communication of a run, the main thread what comes between runs).
  static MpiWorld& get();

  int rank() const { return rank_; }
  int size() const { return size_; }
  MPI_Comm comm() const { return MPI_COMM_WORLD; }
  // Collective: every rank's bytes, by rank, on `root` (empty elsewhere).
  std::vector<std::string> gather(const std::string& mine, int root = 0) const;
  void barrier() const;
  // Ends every rank of the job (the launcher kills the others) with `code`.
  [[noreturn]] void abort(int code) const;

  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

 private:
  MpiWorld();
  ~MpiWorld();
  int rank_ = 0, size_ = 1;
};

// MPI's text for an error code.
std::string mpi_error_text(int code);

}  // namespace augur
