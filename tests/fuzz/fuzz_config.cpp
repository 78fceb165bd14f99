// The TOML file `--config` reads, parsed by the command line exactly as `augur train --config
// FILE` and `augur eval --config FILE` parse it (the commands themselves do not run).
#include <CLI/CLI.hpp>

#include <cstdint>

#include "apps/commands.h"
#include "fuzz_util.h"
#include "runtime/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // One command line for the whole run (each subcommand registers its runner once); CLI11
  // clears the previous results at every parse.
  static CLI::App* const app = [] {
    auto* a = new CLI::App{"fuzz", "augur"};  // reachable to the end: no leak
    augur::configure_root_app(*a);
    return a;
  }();
  const std::string path = augur::fuzz::write_file("run.toml", data, size);
  for (const char* command : {"train", "eval", "simulate"}) {
    const char* argv[] = {"augur", command, "--config", path.c_str()};
    try {
      app->parse(4, const_cast<char**>(argv));
    } catch (const CLI::Error&) {
    } catch (const augur::Error&) {
    }
  }
  return 0;
}
