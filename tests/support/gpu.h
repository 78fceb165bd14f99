// [gpu] tests: tag the test case "[gpu]" and start it with AUGUR_REQUIRE_GPU(). Without a
// device the test returns at once and is counted as skipped; when every test a process ran
// was skipped, the process exits with 77, which CTest reports as "Skipped".
#pragma once

namespace augur::test {

bool gpu_available();
int gpu_count();
void mark_skipped();
constexpr int kSkipReturnCode = 77;

}  // namespace augur::test

// Skips the test (counted as skipped) unless at least `n` CUDA devices are present. [gpu2]
// tests are tagged "[gpu][gpu2]" so that they skip like the others.
#define AUGUR_REQUIRE_GPUS(n)               \
  do {                                      \
    if (::augur::test::gpu_count() < (n)) { \
      ::augur::test::mark_skipped();        \
      return;                               \
    }                                       \
  } while (0)

#define AUGUR_REQUIRE_GPU() AUGUR_REQUIRE_GPUS(1)
