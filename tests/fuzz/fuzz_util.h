// What every harness shares: the parsers under test read files, so a harness writes its input
// to a private folder (in /dev/shm when there is one: no disk in the loop) and calls the
// reader on that path. A harness lets augur::Error through (the parser refused the input, as
// it should) and nothing else: any other exception, a crash, a sanitizer report, a leak or an
// allocation over libFuzzer's -malloc_limit_mb is a finding.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace augur::fuzz {

inline const std::string& scratch_dir() {
  // Never destroyed: the exit handler that removes the folder runs after static destructors
  // registered later than it.
  static const std::string* const dir = [] {
    const char* base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    auto* t = new std::string(std::string(base) + "/augur-fuzz-XXXXXX");
    if (::mkdtemp(t->data()) == nullptr) std::abort();
    return t;
  }();
  static const bool cleanup = std::atexit([] { std::filesystem::remove_all(*dir); }) == 0;
  (void)cleanup;
  return *dir;
}

// Writes `name` (a path under the scratch folder, its parents created) with the given bytes;
// false when the path cannot be a file (an input may name "a" as a file and then "a/b").
inline bool try_write_file(const std::string& name, const uint8_t* data, size_t size) {
  const std::filesystem::path p = std::filesystem::path(scratch_dir()) / name;
  std::error_code ec;
  std::filesystem::create_directories(p.parent_path(), ec);
  if (ec) return false;
  std::FILE* f = std::fopen(p.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = size == 0 || std::fwrite(data, 1, size, f) == size;
  return std::fclose(f) == 0 && ok;
}

// The same where the path is the harness's own and a failure means the scratch disk failed.
inline std::string write_file(const std::string& name, const uint8_t* data, size_t size) {
  if (!try_write_file(name, data, size)) std::abort();
  return (std::filesystem::path(scratch_dir()) / name).string();
}

inline void clear_scratch() {
  for (const auto& e : std::filesystem::directory_iterator(scratch_dir()))
    std::filesystem::remove_all(e.path());
}

}  // namespace augur::fuzz
