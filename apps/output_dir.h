// The folder a training run writes (metrics, args.json, checkpoints). It is claimed for the
// run's life: a lock file held with flock (released by the kernel however the process ends)
// keeps a second run from writing into it at the same time, and a folder that already holds
// another run's files is refused unless the run resumes (it continues that run) or is told to
// overwrite it (then that run's files are removed first, so no stale model_<epoch> of the old
// run stays beside the new run's). The default folder is never refused: when it is taken the
// run moves on to the first free "<default>-1", "<default>-2", ... and says so.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace augur {

class OutputDir {
 public:
  // `is_default`: the folder is the default one, not named by the user.
  static OutputDir claim(const std::filesystem::path& dir, bool is_default, bool resume,
                         bool overwrite);
  OutputDir(OutputDir&& other) noexcept;
  OutputDir& operator=(OutputDir&&) = delete;
  OutputDir(const OutputDir&) = delete;
  ~OutputDir();

  const std::filesystem::path& path() const { return path_; }

 private:
  OutputDir(std::filesystem::path path, int lock_fd) : path_(std::move(path)), lock_fd_(lock_fd) {}
  std::filesystem::path path_;
  int lock_fd_ = -1;
};

// Throws, naming the folder and both sizes, when `dir`'s file system has less than `bytes`
// free for this process: a run that cannot write its first checkpoint says so before it
// trains rather than after an epoch.
void check_free_space(const std::filesystem::path& dir, uint64_t bytes, const std::string& what);

// Whether `dir` holds files a training run writes.
bool holds_run(const std::filesystem::path& dir);

}  // namespace augur
