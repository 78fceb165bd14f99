#include "apps/commands.h"

#include <map>

#include "runtime/build_info.h"
#include "runtime/error.h"

namespace augur {

namespace {
std::map<const CLI::App*, std::function<int()>>& runners() {
  static std::map<const CLI::App*, std::function<int()>> r;
  return r;
}
}  // namespace

std::string augur_version_line() {
  return "augur " + augur_version() + " (CUDA architectures " + cuda_architectures() + ")";
}

void set_command_runner(CLI::App* sub, std::function<int()> runner) {
  runners()[sub] = std::move(runner);
}

int run_selected_command(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands()) {
    auto it = runners().find(sub);
    if (it != runners().end()) return it->second();
  }
  throw Error("no subcommand selected");
}

}  // namespace augur
