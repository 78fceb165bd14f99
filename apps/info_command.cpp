// `augur info`: what this build is and what it can run on.
#include <cuda_runtime.h>

#include <iomanip>
#include <iostream>

#include "apps/commands.h"
#include "runtime/build_info.h"
#include "runtime/context.h"
#include "runtime/device.h"
#include "runtime/thread_pool.h"

namespace augur {

namespace {
int run_info() {
  std::cout << augur_version_line() << "\n\nLibraries (built against / loaded):\n";
  for (const auto& lib : library_versions()) {
    std::cout << "  " << std::left << std::setw(14) << lib.name << lib.built << " / "
              << (lib.loaded.empty() ? "unknown" : lib.loaded) << "\n";
  }
  const int driver = cuda_driver_version();
  std::cout << "  " << std::left << std::setw(14) << "CUDA driver"
            << (driver ? std::to_string(driver / 1000) + "." + std::to_string(driver % 1000 / 10)
                       : "not installed")
            << "\n\nDevices:\n  cpu: " << ThreadPool::default_threads() << " threads\n";
  const int n = cuda_device_count();
  if (n == 0) {
    std::cout << "  no CUDA device is available (" << cuda_unavailable_reason()
              << "); Augur runs on the CPU backend\n";
  }
  for (int i = 0; i < n; ++i)
    std::cout << "  " << DeviceContext::get(Device::cuda(i)).description() << "\n";
  return 0;
}
}  // namespace

void register_info_command(CLI::App& app) {
  CLI::App* sub =
      app.add_subcommand("info", "Print the build's library versions and the visible devices");
  set_command_runner(sub, run_info);
}

}  // namespace augur
