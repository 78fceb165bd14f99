#include <catch2/catch.hpp>

#include <string>

#include "runtime/cuda_check.h"
#include "runtime/debug.h"
#include "runtime/error.h"

TEST_CASE("AUGUR_ARG_CHECK throws with message, expression and file:line", "[runtime]") {
  const int channels = 3;
  try {
    AUGUR_ARG_CHECK(channels == 4, "conv1: expected 4 channels, got ", channels);
    FAIL("did not throw");
  } catch (const augur::Error& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::Contains("invalid argument"));
    CHECK_THAT(what, Catch::Contains("conv1: expected 4 channels, got 3"));
    CHECK_THAT(what, Catch::Contains("channels == 4"));
    CHECK_THAT(what, Catch::Contains("test_errors.cpp:"));
  }
  CHECK_NOTHROW([&] { AUGUR_CHECK(channels == 3, "unused"); }());
}

TEST_CASE("library checks carry the library's own error text", "[runtime]") {
  CHECK_THROWS_WITH([] { CUDA_CHECK(cudaErrorMemoryAllocation); }(),
                    Catch::Contains("CUDA error 2") && Catch::Contains("out of memory") &&
                        Catch::Contains("cudaErrorMemoryAllocation"));
  CHECK_THROWS_WITH([] { CUBLAS_CHECK(CUBLAS_STATUS_INVALID_VALUE); }(),
                    Catch::Contains("cuBLAS") && Catch::Contains("CUBLAS_STATUS_INVALID_VALUE"));
  CHECK_THROWS_WITH([] { CUDNN_CHECK(CUDNN_STATUS_BAD_PARAM); }(),
                    Catch::Contains("cuDNN") && Catch::Contains("BAD_PARAM"));
  CHECK_THROWS_WITH([] { NCCL_CHECK(ncclInvalidArgument); }(),
                    Catch::Contains("NCCL") && Catch::Contains("ncclInvalidArgument"));
  CHECK_NOTHROW([] { CUDA_CHECK(cudaSuccess); }());
}

TEST_CASE("the debug-sync switch can be turned on and off", "[runtime]") {
  const bool before = augur::debug_sync_enabled();
  augur::set_debug_sync(true);
  CHECK(augur::debug_sync_enabled());
  augur::set_debug_sync(false);
  CHECK_FALSE(augur::debug_sync_enabled());
  augur::set_debug_sync(before);
}
