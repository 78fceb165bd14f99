// What write_file_atomically and AppendFile promise: the named file and nothing else changes,
// failures name the file and leave the old content, links, FIFOs and devices are never replaced.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "runtime/error.h"
#include "runtime/output_file.h"

namespace fs = std::filesystem;
using augur::AppendFile;
using augur::write_file_atomically;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "augur_out_XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~TempDir() { fs::remove_all(path); }
};

// Files larger than `bytes` cannot be written while it lives (EFBIG, as a full disk gives
// ENOSPC): the kernel's own limit, so the failing write is the real write path.
struct FileSizeLimit {
  rlimit old{};
  void (*old_handler)(int);
  explicit FileSizeLimit(rlim_t bytes) {
    old_handler = std::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &old);
    rlimit lim = old;
    lim.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &lim);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
  }
};

size_t entries(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace

TEST_CASE("an atomic write replaces a file and leaves no temporary behind", "[runtime][files]") {
  TempDir d;
  const fs::path f = d.path / "a.json";
  write_file_atomically(f.string(), std::string("one"));
  write_file_atomically(f.string(), std::string("second"));
  CHECK(slurp(f) == "second");
  CHECK(entries(d.path) == 1);
}

TEST_CASE("a failed write names the file and keeps its old content", "[runtime][files]") {
  TempDir d;
  const fs::path f = d.path / "checkpoint.safetensors";
  write_file_atomically(f.string(), std::string("old"));
  {
    FileSizeLimit limit(1024);
    const std::string big(4096, 'x');
    CHECK_THROWS_WITH(write_file_atomically(f.string(), big),
                      Catch::Contains(f.string()) && Catch::Contains("unchanged") &&
                          Catch::Contains(std::strerror(EFBIG)));
  }
  CHECK(slurp(f) == "old");
  CHECK(entries(d.path) == 1);  // the temporary file is gone
  CHECK_THROWS_WITH(write_file_atomically((d.path / "no" / "x").string(), std::string("x")),
                    Catch::Contains((d.path / "no").string()) && Catch::Contains("No such file"));
}

TEST_CASE("two writers of one file never share a temporary name", "[runtime][files]") {
  TempDir d;
  const fs::path f = d.path / "trace.json";
  // Each writer's content must arrive whole: with one shared temporary name the two could
  // interleave into one file or rename each other's half-written bytes.
  const std::string a(1 << 20, 'a'), b(1 << 20, 'b');
  for (int round = 0; round < 8; ++round) {
    std::thread t([&] { write_file_atomically(f.string(), a); });
    write_file_atomically(f.string(), b);
    t.join();
    const std::string got = slurp(f);
    CHECK((got == a || got == b));
  }
  CHECK(entries(d.path) == 1);
}

TEST_CASE("a symbolic link is followed and stays a link", "[runtime][files]") {
  TempDir d;
  fs::create_directory(d.path / "real");
  const fs::path target = d.path / "real" / "metrics.json";
  const fs::path link = d.path / "link.json";
  fs::create_symlink(fs::path("real") / "metrics.json", link);  // relative, dangling
  write_file_atomically(link.string(), std::string("through"));
  CHECK(fs::is_symlink(link));
  CHECK(slurp(target) == "through");
  write_file_atomically(link.string(), std::string("again"));
  CHECK(fs::is_symlink(link));
  CHECK(slurp(target) == "again");
}

TEST_CASE("a FIFO is written through, or refused when nothing reads it", "[runtime][files]") {
  TempDir d;
  const fs::path fifo = d.path / "trace.fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH(write_file_atomically(fifo.string(), std::string("x")),
                    Catch::Contains(fifo.string()) && Catch::Contains("FIFO"));
  std::string got;
  std::thread reader([&] {
    std::ifstream in(fifo);
    std::ostringstream os;
    os << in.rdbuf();
    got = os.str();
  });
  // The reader opens the FIFO in its own time; until it has, the write is refused.
  for (int i = 0; i < 2000; ++i) {
    try {
      write_file_atomically(fifo.string(), std::string("streamed"));
      break;
    } catch (const augur::Error&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  reader.join();
  CHECK(got == "streamed");
  struct stat st {};
  REQUIRE(::lstat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));  // still a FIFO, not replaced by a regular file
}

TEST_CASE("a device is written in place, and its errors are reported", "[runtime][files]") {
  write_file_atomically("/dev/null", std::string("gone"));
  struct stat st {};
  REQUIRE(::stat("/dev/null", &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  if (::access("/dev/full", W_OK) == 0) {
    CHECK_THROWS_WITH(write_file_atomically("/dev/full", std::string("x")),
                      Catch::Contains("/dev/full") && Catch::Contains(std::strerror(ENOSPC)));
    REQUIRE(::stat("/dev/full", &st) == 0);
    CHECK(S_ISCHR(st.st_mode));
  }
}

TEST_CASE("a folder is refused by name", "[runtime][files]") {
  TempDir d;
  CHECK_THROWS_WITH(write_file_atomically(d.path.string(), std::string("x")),
                    Catch::Contains(d.path.string()) && Catch::Contains("folder"));
}

TEST_CASE("an append file reports the write it could not make", "[runtime][files]") {
  TempDir d;
  const fs::path f = d.path / "metrics.jsonl";
  {
    AppendFile out(f.string(), true);
    out.write("{\"a\":1}\n");
  }
  {
    AppendFile out(f.string(), false);
    out.write("{\"b\":2}\n");
    FileSizeLimit limit(32);
    CHECK_THROWS_WITH(out.write(std::string(64, 'x')),
                      Catch::Contains(f.string()) && Catch::Contains(std::strerror(EFBIG)));
  }
  CHECK(slurp(f).rfind("{\"a\":1}\n{\"b\":2}\n", 0) == 0);
  if (::access("/dev/full", W_OK) == 0) {
    AppendFile full("/dev/full", false);
    CHECK_THROWS_WITH(full.write("x"), Catch::Contains(std::strerror(ENOSPC)));
  }
}

TEST_CASE("temporary names are recognised for the folder check", "[runtime][files]") {
  CHECK(augur::is_write_temporary(".checkpoint.safetensors.Ab3xYz.tmp", "checkpoint"));
  CHECK(augur::is_write_temporary(".model_3.safetensors.000000.tmp", "model_"));
  CHECK_FALSE(augur::is_write_temporary("checkpoint.safetensors.tmp", "checkpoint"));
  CHECK_FALSE(augur::is_write_temporary(".notes.Ab3xYz.tmp", "checkpoint"));
  CHECK_FALSE(augur::is_write_temporary(".checkpoint.tmp", "checkpoint"));
}
