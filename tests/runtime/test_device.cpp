#include <catch2/catch.hpp>

#include "runtime/device.h"
#include "runtime/error.h"

using augur::Device;
using augur::DeviceKind;

TEST_CASE("Device::parse accepts cpu, cuda and cuda:N", "[runtime]") {
  CHECK(Device::parse("cpu") == Device::cpu());
  CHECK(Device::parse("cuda") == Device::cuda(0));
  CHECK(Device::parse("cuda:0") == Device::cuda(0));
  const Device d = Device::parse("cuda:12");
  CHECK(d.kind == DeviceKind::CUDA);
  CHECK(d.index == 12);
  CHECK(d.str() == "cuda:12");
  CHECK(Device::cpu().str() == "cpu");
}

TEST_CASE("Device::parse rejects bad strings naming them", "[runtime]") {
  for (const char* bad :
       {"", "gpu", "cuda:", "cuda:-1", "cuda:1x", "CPU", "cuda:0:1", "cuda:99999"}) {
    INFO("input '" << bad << "'");
    try {
      (void)Device::parse(bad);
      FAIL("accepted");
    } catch (const augur::Error& e) {
      CHECK_THAT(e.what(), Catch::Contains(std::string("'") + bad + "'"));
      CHECK_THAT(e.what(), Catch::Contains("cuda:N"));
    }
  }
}

TEST_CASE("CUDA device count never throws, and requiring a missing device is a clear error",
          "[runtime]") {
  const int n = augur::cuda_device_count();
  CHECK(n >= 0);
  CHECK(augur::cuda_device_count() == n);  // cached, stable
  CHECK_NOTHROW(augur::require_device(Device::cpu()));
  if (n == 0) {
    CHECK_FALSE(augur::cuda_unavailable_reason().empty());
    CHECK_THROWS_WITH(augur::require_device(Device::cuda(0)),
                      Catch::Contains("cuda:0") && Catch::Contains("no CUDA device"));
  }
  CHECK_THROWS_WITH(augur::require_device(Device::cuda(n + 3)),
                    Catch::Contains("cuda:" + std::to_string(n + 3)));
}
