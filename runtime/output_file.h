// Writing what a run leaves behind (checkpoints, traces, metrics, args.json, profiles) so that
// nothing is lost silently and nothing but the named file is touched.
//
// Whole files are replaced atomically: the bytes go to a temporary file of a name unique to
// this write (two runs or two writers never share one) in the target's folder, are flushed to
// disk, then renamed over the target, so a reader, a crash or a full disk sees the old file or
// the new one, never a mix. rename() would replace whatever the path is, so the target's kind
// decides: a regular file (or none) is replaced; a symbolic link is followed and its target
// replaced (the link stays a link); a FIFO, character or block device (/dev/stdout, a pipe to
// another program) is written through in place, with no temporary file; a folder or socket is
// refused. Every failure throws augur::Error naming the file and the system's reason.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace augur {

void write_file_atomically(const std::string& path, const void* data, size_t size);
inline void write_file_atomically(const std::string& path, const std::vector<uint8_t>& bytes) {
  write_file_atomically(path, bytes.data(), bytes.size());
}
inline void write_file_atomically(const std::string& path, std::string_view text) {
  write_file_atomically(path, text.data(), text.size());
}

// A file written line by line over a run (metrics.jsonl, metrics.csv): each write() goes to
// the kernel at once and a short or failed write throws naming the file (ENOSPC included), so a
// full disk stops the run at the record it could not keep instead of after the epoch.
class AppendFile {
 public:
  AppendFile() = default;
  // `truncate`: start empty; otherwise keep what is there and append.
  AppendFile(std::string path, bool truncate);
  AppendFile(AppendFile&& other) noexcept;
  AppendFile& operator=(AppendFile&& other) noexcept;
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;
  ~AppendFile();

  void write(std::string_view text);
  const std::string& path() const { return path_; }
  bool is_open() const { return fd_ >= 0; }

 private:
  std::string path_;
  int fd_ = -1;
};

// Whether `name` is a temporary file write_file_atomically leaves when a process dies between
// creating and renaming it (".<target name>.<6 characters>.tmp").
bool is_write_temporary(const std::string& name, const std::string& target_prefix);

}  // namespace augur
