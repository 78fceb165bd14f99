// Teardown after a faulting kernel: every later CUDA call fails with the sticky error, so
// destructors must not throw. The fault runs in a child process (a sticky error ends the
// CUDA context for good: tests/runtime/fault_child.cpp), which must exit non-zero with the
// original error on its output and without std::terminate.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "tests/support/gpu.h"

using namespace augur;
using Catch::Matchers::Contains;

TEST_CASE("gpu: after a faulting kernel the original error reaches the user, not terminate",
          "[gpu][runtime]") {
  AUGUR_REQUIRE_GPU();
  // fault_child sits beside this executable, in the build tree and in the bundle alike.
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const std::string cmd = "'" + self.substr(0, self.rfind('/')) + "/fault_child' 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  std::array<char, 4096> buf{};
  while (size_t got = fread(buf.data(), 1, buf.size(), pipe)) output.append(buf.data(), got);
  const int status = pclose(pipe);
  INFO(output);
  REQUIRE(WIFEXITED(status));  // not killed by SIGABRT from std::terminate
  CHECK(WEXITSTATUS(status) != 0);
  CHECK_THAT(output, Contains("illegal memory access"));
  CHECK_THAT(output, !Contains("terminate called"));
}
