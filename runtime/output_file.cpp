#include "runtime/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <utility>

#include "runtime/error.h"

namespace augur {

namespace fs = std::filesystem;

namespace {

std::string why(int err) {
  return std::strerror(err);
}

// Writes all of `size` bytes to `fd`; the errno of the failure, or 0.
int write_all(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t w = ::write(fd, p, size);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += w;
    size -= static_cast<size_t>(w);
  }
  return 0;
}

// The file a path names once its symbolic links are followed (the path itself when it is no
// link); a dangling link names the file it would create.
std::string follow_links(const std::string& path) {
  fs::path p = path;
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return p.string();
    std::error_code ec;
    const fs::path target = fs::read_symlink(p, ec);
    if (ec) throw Error("cannot read the link '" + p.string() + "': " + ec.message());
    p = target.is_absolute() ? target : p.parent_path() / target;
  }
  throw Error("'" + path + "': too many levels of symbolic links");
}

// A FIFO or a device: written in place, as a program writing to /dev/stdout or a pipe expects.
void write_through(const std::string& path, const std::string& shown, bool fifo, const void* data,
                   size_t size) {
  // A FIFO opened for writing blocks until a reader comes; with no reader it is refused.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | (fifo ? O_NONBLOCK : 0));
  if (fd < 0) {
    if (fifo && errno == ENXIO)
      throw Error("cannot write " + shown + ": it is a FIFO and nothing reads from it");
    throw Error("cannot open " + shown + " for writing: " + why(errno));
  }
  if (fifo) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  const int err = write_all(fd, data, size);
  const bool closed = ::close(fd) == 0;
  if (err != 0) throw Error("writing " + shown + " failed: " + why(err));
  if (!closed) throw Error("writing " + shown + " failed: " + why(errno));
}

}  // namespace

void write_file_atomically(const std::string& path, const void* data, size_t size) {
  const std::string target = follow_links(path);
  // How messages name the file: quoted, with the link's target when it is one.
  const std::string shown =
      target == path ? "'" + path + "'" : "'" + path + "' (a link to '" + target + "')";
  struct stat st {};
  if (::stat(target.c_str(), &st) == 0) {
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
      return write_through(target, shown, S_ISFIFO(st.st_mode), data, size);
    if (S_ISDIR(st.st_mode)) throw Error("cannot write " + shown + ": it is a folder");
    if (!S_ISREG(st.st_mode))
      throw Error("cannot write " + shown + ": it is neither a regular file nor a device");
  }
  const fs::path t = target;
  const fs::path dir = t.has_parent_path() ? t.parent_path() : fs::path(".");
  std::string tmp = (dir / ("." + t.filename().string() + ".XXXXXX.tmp")).string();
  const int fd = ::mkostemps(tmp.data(), 4, O_CLOEXEC);
  if (fd < 0)
    throw Error("cannot create a temporary file in '" + dir.string() + "' for " + shown + ": " +
                why(errno));
  // mkstemp makes the file private; a run's outputs are as readable as a plain file.
  ::fchmod(fd, S_ISREG(st.st_mode) ? (st.st_mode & 07777) : 0644);
  int err = write_all(fd, data, size);
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    throw Error("writing " + shown + " failed (" + why(err) + "); the file is unchanged");
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    err = errno;
    ::unlink(tmp.c_str());
    throw Error("renaming '" + tmp + "' to " + shown + " failed (" + why(err) +
                "); the file is unchanged");
  }
  // The rename itself reaches the disk with the folder's entry.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

AppendFile::AppendFile(std::string path, bool truncate) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0),
               0644);
  if (fd_ < 0) throw Error("cannot open '" + path_ + "' for writing: " + why(errno));
}

AppendFile::AppendFile(AppendFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}

AppendFile& AppendFile::operator=(AppendFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

AppendFile::~AppendFile() {
  if (fd_ >= 0) ::close(fd_);
}

void AppendFile::write(std::string_view text) {
  if (fd_ < 0) throw Error("'" + path_ + "' is not open for writing");
  const int err = write_all(fd_, text.data(), text.size());
  if (err != 0) throw Error("writing '" + path_ + "' failed: " + why(err));
}

bool is_write_temporary(const std::string& name, const std::string& target_prefix) {
  // "." + target + "." + 6 characters + ".tmp"
  const size_t n = name.size();
  if (n < 1 + target_prefix.size() + 11 || name[0] != '.') return false;
  if (name.compare(1, target_prefix.size(), target_prefix) != 0) return false;
  return name.compare(n - 4, 4, ".tmp") == 0 && name[n - 11] == '.';
}

}  // namespace augur
