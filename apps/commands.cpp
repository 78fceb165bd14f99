#include "apps/commands.h"

#include <map>
#include <sstream>

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

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<std::string> devices_per_stage(const std::string& devices, int stages) {
  std::vector<std::string> names = split_list(devices);
  if (names.size() == 1) names.assign(static_cast<size_t>(stages), names[0]);
  if (!names.empty() && static_cast<int>(names.size()) != stages)
    throw Error("--devices lists " + std::to_string(names.size()) + " devices for " +
                std::to_string(stages) + " stages (--pp-stages)");
  return names;
}

}  // namespace augur
