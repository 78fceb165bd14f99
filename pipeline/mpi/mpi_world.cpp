#include "pipeline/mpi/mpi_world.h"

#include <cstdlib>

#include "runtime/error.h"

namespace augur {

bool MpiWorld::launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(v)) return true;
  return false;
}

MpiWorld& MpiWorld::get() {
  static MpiWorld world;
  return world;
}

MpiWorld::MpiWorld() {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) {
    int provided = 0;
    const int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
    AUGUR_CHECK(rc == MPI_SUCCESS, "MPI_Init_thread failed: ", mpi_error_text(rc));
    AUGUR_CHECK(provided >= MPI_THREAD_SERIALIZED, "this MPI provides thread level ", provided,
                ", the engine needs MPI_THREAD_SERIALIZED (stage threads communicate)");
  }
  // Errors come back as codes and become exceptions naming the call, instead of MPI's
  // default of ending the job inside the library.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiWorld::~MpiWorld() {
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (!finalised) MPI_Finalize();
}

std::vector<std::string> MpiWorld::gather(const std::string& mine, int root) const {
  AUGUR_CHECK(mine.size() <= static_cast<size_t>(INT32_MAX), "a ", mine.size(),
              "-byte gather is over MPI's count limit");
  const int length = static_cast<int>(mine.size());
  std::vector<int> lengths(rank_ == root ? static_cast<size_t>(size_) : 0);
  int rc = MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, root, MPI_COMM_WORLD);
  AUGUR_CHECK(rc == MPI_SUCCESS, "MPI_Gather failed: ", mpi_error_text(rc));
  std::vector<int> offsets(lengths.size(), 0);
  int64_t total = 0;
  for (size_t i = 0; i < lengths.size(); ++i) {
    offsets[i] = static_cast<int>(total);
    total += lengths[i];
  }
  AUGUR_CHECK(total <= INT32_MAX, "a ", total, "-byte gather is over MPI's count limit");
  std::string all(static_cast<size_t>(total), '\0');
  rc = MPI_Gatherv(mine.data(), length, MPI_BYTE, all.data(), lengths.data(), offsets.data(),
                   MPI_BYTE, root, MPI_COMM_WORLD);
  AUGUR_CHECK(rc == MPI_SUCCESS, "MPI_Gatherv failed: ", mpi_error_text(rc));
  std::vector<std::string> out;
  for (size_t i = 0; i < lengths.size(); ++i)
    out.push_back(all.substr(static_cast<size_t>(offsets[i]), static_cast<size_t>(lengths[i])));
  return out;
}

void MpiWorld::barrier() const {
  const int rc = MPI_Barrier(MPI_COMM_WORLD);
  AUGUR_CHECK(rc == MPI_SUCCESS, "MPI_Barrier failed: ", mpi_error_text(rc));
}

void MpiWorld::abort(int code) const {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; this is for the compiler
}

std::string mpi_error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS)
    return "MPI error " + std::to_string(code);
  return std::string(text, static_cast<size_t>(length));
}

}  // namespace augur
