#include "apps/output_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <sstream>
#include <utility>
#include <vector>

#include "runtime/error.h"
#include "runtime/output_file.h"

namespace augur {

namespace fs = std::filesystem;

namespace {

constexpr const char* kLockName = ".augur.lock";

// A run's own files: what it writes, and what a run killed mid-write leaves behind.
bool is_run_file(const std::string& name) {
  for (const char* f : {"args.json", "metrics.jsonl", "metrics.csv", "checkpoint.safetensors"})
    if (name == f) return true;
  const bool model = name.rfind("model_", 0) == 0 && name.find(".safetensors") != std::string::npos;
  bool tmp = false;
  for (const char* f : {"checkpoint", "model_", "args", "metrics"})
    tmp = tmp || is_write_temporary(name, f);
  return model || tmp;
}

// Holds the lock on `dir` (created if missing), or returns -1 when another process does;
// `holder` then says which.
int try_lock(const fs::path& dir, std::string* holder) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("--output-dir '" + dir.string() + "': cannot create it: " + ec.message());
  const fs::path lock = dir / kLockName;
  const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw Error("--output-dir '" + dir.string() + "': cannot create its lock file '" +
                lock.string() + "': " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    if (err != EWOULDBLOCK)
      throw Error("--output-dir '" + dir.string() + "': cannot lock '" + lock.string() +
                  "': " + std::strerror(err));
    *holder = n > 0 ? "process " + std::string(buf, size_t(n)) : "another process";
    return -1;
  }
  // Who holds it, for the message another run prints.
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // Only the message of a refused run would lack the pid; the lock itself holds.
  }
  return fd;
}

void remove_run_files(const fs::path& dir) {
  std::vector<fs::path> old;
  for (const auto& e : fs::directory_iterator(dir))
    if (is_run_file(e.path().filename().string())) old.push_back(e.path());
  for (const fs::path& p : old) {
    std::error_code ec;
    fs::remove(p, ec);
    if (ec)
      throw Error("--overwrite: cannot remove '" + p.string() +
                  "' of the earlier run: " + ec.message());
  }
}

}  // namespace

bool holds_run(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (is_run_file(e.path().filename().string())) return true;
  return false;
}

OutputDir OutputDir::claim(const fs::path& dir, bool is_default, bool resume, bool overwrite) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw Error("--output-dir '" + dir.string() + "' exists and is not a folder");
  for (int n = 0;; ++n) {
    const fs::path here = n == 0 ? dir : fs::path(dir.string() + "-" + std::to_string(n));
    std::string holder;
    const int fd = try_lock(here, &holder);
    const bool taken = fd < 0 || (holds_run(here) && !resume && !overwrite);
    if (!taken) {
      if (overwrite && !resume) remove_run_files(here);
      if (n > 0)
        std::cerr << "augur: '" << dir.string() << "' holds another run; writing to '"
                  << here.string() << "' instead (--output-dir chooses)\n";
      return OutputDir(here, fd);
    }
    if (fd >= 0) ::close(fd);
    if (!is_default || n >= 999) {
      if (fd < 0)
        throw Error("--output-dir '" + here.string() + "' is in use by another augur run (" +
                    holder + "); choose another folder");
      throw Error("--output-dir '" + here.string() +
                  "' holds another run (its args.json, metrics or checkpoints); give --resume "
                  "to continue it, --overwrite to replace it, or another folder");
    }
  }
}

OutputDir::OutputDir(OutputDir&& other) noexcept
    : path_(std::move(other.path_)), lock_fd_(std::exchange(other.lock_fd_, -1)) {}

OutputDir::~OutputDir() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock
}

void check_free_space(const fs::path& dir, uint64_t bytes, const std::string& what) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return;  // unknown: the writes themselves report
  const uint64_t free = uint64_t(st.f_bavail) * uint64_t(st.f_frsize);
  if (free >= bytes) return;
  auto mb = [](uint64_t b) {
    std::ostringstream os;
    os.precision(3);
    os << double(b) / 1e6 << " MB";
    return os.str();
  };
  throw Error("--output-dir '" + dir.string() + "' has " + mb(free) + " free, and " + what +
              " needs " + mb(bytes) + ": free some space or choose another folder");
}

}  // namespace augur
