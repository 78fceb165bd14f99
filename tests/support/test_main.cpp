// Catch2 entry point shared by every test executable. It counts test cases run and those
// that skipped themselves for want of a GPU, and turns "all skipped" into CTest's skip code.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <atomic>

#include "runtime/device.h"
#include "tests/support/gpu.h"

namespace augur::test {

void note_case_started();

namespace {
std::atomic<int> g_cases_run{0};
std::atomic<int> g_cases_skipped{0};

}  // namespace

void note_case_started() {
  ++g_cases_run;
}
bool gpu_available() {
  return cuda_device_count() > 0;
}
int gpu_count() {
  return cuda_device_count();
}
void mark_skipped() {
  ++g_cases_skipped;
  if (gpu_available())
    WARN("skipped: this test needs more CUDA devices than the " << gpu_count() << " present");
  else
    WARN("skipped: no CUDA device (" << cuda_unavailable_reason() << ")");
}

}  // namespace augur::test

// Catch's registration macro needs an unqualified name at global scope.
struct AugurCaseCounter : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testCaseStarting(const Catch::TestCaseInfo& info) override {
    TestEventListenerBase::testCaseStarting(info);
    augur::test::note_case_started();
  }
};
CATCH_REGISTER_LISTENER(AugurCaseCounter)

int main(int argc, char* argv[]) {
  Catch::Session session;
  if (int rc = session.applyCommandLine(argc, argv)) return rc;
  const int failed = session.run();
  using namespace augur::test;
  if (failed == 0 && g_cases_run > 0 && g_cases_skipped == g_cases_run) return kSkipReturnCode;
  return failed;
}
