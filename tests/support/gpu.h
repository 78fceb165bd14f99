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

#define AUGUR_REQUIRE_GPU()                \
  do {                                     \
    if (!::augur::test::gpu_available()) { \
      ::augur::test::mark_skipped();       \
      return;                              \
    }                                      \
  } while (0)

// [gpu2] tests (tagged "[gpu][gpu2]" so they skip like the others): need two devices.
#define AUGUR_REQUIRE_GPUS(n)               \
  do {                                      \
    if (::augur::test::gpu_count() < (n)) { \
      ::augur::test::mark_skipped();        \
      return;                               \
    }                                       \
  } while (0)
