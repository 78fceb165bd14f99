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

// `name` (a path under the scratch folder, its parents created) holding the given bytes.
inline std::string write_file(const std::string& name, const uint8_t* data, size_t size) {
  const std::filesystem::path p = std::filesystem::path(scratch_dir()) / name;
  std::filesystem::create_directories(p.parent_path());
  std::FILE* f = std::fopen(p.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return p.string();
}

inline void clear_scratch() {
  for (const auto& e : std::filesystem::directory_iterator(scratch_dir()))
    std::filesystem::remove_all(e.path());
}

}  // namespace augur::fuzz
