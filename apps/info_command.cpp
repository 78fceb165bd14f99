// `augur info`: what this build is and what it can run on.
#include <cuda_runtime.h>

#include <iomanip>
#include <iostream>
#include <memory>

#include "apps/commands.h"
#include "apps/flag_checks.h"
#include "models/resnet_spec.h"
#include "runtime/build_info.h"
#include "runtime/context.h"
#include "runtime/device.h"
#include "runtime/limits.h"
#include "runtime/peer_access.h"
#include "runtime/thread_pool.h"

namespace augur {

namespace {

struct InfoOptions {
  std::string model;
  int num_classes = 1000;
  int in_channels = 3;
  int image_size = 224;
};

std::string with_commas(int64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

int print_model(const InfoOptions& o) {
  ResNetOptions opt{o.num_classes, o.in_channels, o.image_size};
  const ModelSpec m = resnet_spec(o.model, opt);
  std::cout << m.name << " (" << o.num_classes << " classes, " << o.in_channels
            << " input channels, " << o.image_size << "x" << o.image_size << ")\n";
  std::cout << std::left << std::setw(12) << "unit" << std::right << std::setw(14) << "parameters"
            << std::setw(18) << "multiply-adds" << std::setw(14) << "output" << std::setw(18)
            << "bytes/sample"
            << "\n";
  for (const auto& u : m.units) {
    const std::string out = u.kind == UnitKind::Head
                                ? std::to_string(u.out_channels)
                                : std::to_string(u.out_size) + "x" + std::to_string(u.out_size) +
                                      "x" + std::to_string(u.out_channels);
    std::cout << std::left << std::setw(12) << u.name << std::right << std::setw(14)
              << with_commas(u.parameter_count()) << std::setw(18) << with_commas(u.macs)
              << std::setw(14) << out << std::setw(18) << with_commas(u.output_bytes_per_sample())
              << "\n";
  }
  std::cout << std::left << std::setw(12) << "total" << std::right << std::setw(14)
            << with_commas(m.parameter_count()) << std::setw(18) << with_commas(m.macs()) << "\n"
            << "\n"
            << m.units.size() << " partitionable units; " << with_commas(m.parameter_count())
            << " parameters; " << std::fixed << std::setprecision(2) << m.macs() / 1e9
            << " G multiply-adds per sample\n";
  return 0;
}

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
  if (n > 1) {
    // Where stage-to-stage copies go device to device; elsewhere the in-process transport
    // stages them through pinned host memory.
    std::cout << "\nPeer access (row reads and writes column directly):\n       ";
    for (int j = 0; j < n; ++j) std::cout << std::setw(8) << ("cuda:" + std::to_string(j));
    std::cout << "\n";
    const auto m = peer_access_matrix();
    for (int i = 0; i < n; ++i) {
      std::cout << "  " << std::left << std::setw(7) << ("cuda:" + std::to_string(i)) << std::right;
      for (int j = 0; j < n; ++j)
        std::cout << std::setw(8) << (i == j ? "-" : m[size_t(i)][size_t(j)] ? "yes" : "no");
      std::cout << "\n";
    }
  }
  return 0;
}
}  // namespace

void register_info_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("info",
                                     "Print the build's library versions and the visible devices, "
                                     "or with --model a model's units");
  auto opts = std::make_shared<InfoOptions>();
  std::string names;
  for (const auto& n : resnet_names()) names += (names.empty() ? "" : ", ") + n;
  sub->add_option("--model", opts->model, "Describe this model's units instead (" + names + ")")
      ->check(CLI::IsMember(resnet_names()));
  sub->add_option("--num-classes", opts->num_classes, "Classifier outputs")
      ->check(positive_integer(limits::kClasses));
  sub->add_option("--in-channels", opts->in_channels, "Input channels")
      ->check(positive_integer(limits::kInChannels));
  sub->add_option("--image-size", opts->image_size,
                  "Input side in pixels (default 224; 32 for CIFAR models)")
      ->check(positive_integer(limits::kImageSide));
  set_command_runner(sub, [opts, sub] {
    if (opts->model.empty()) {
      for (const char* flag : {"--num-classes", "--in-channels", "--image-size"})
        if (sub->count(flag)) throw CLI::ValidationError(flag, "only meaningful with --model");
      return run_info();
    }
    InfoOptions o = *opts;
    const ResNetDefaults d = resnet_defaults(o.model);
    if (!sub->count("--image-size")) o.image_size = d.image_size;
    if (!sub->count("--num-classes")) o.num_classes = d.num_classes;
    return print_model(o);
  });
}

}  // namespace augur
