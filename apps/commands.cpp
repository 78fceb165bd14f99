#include "apps/commands.h"

#include <cctype>
#include <iostream>
#include <map>
#include <sstream>

#include "apps/toml_config.h"
#include "runtime/build_info.h"
#include "runtime/error.h"

namespace augur {

namespace {
std::map<const CLI::App*, std::function<int()>>& runners() {
  static std::map<const CLI::App*, std::function<int()>> r;
  return r;
}
}  // namespace

void configure_root_app(CLI::App& app) {
  app.require_subcommand(1);
  // `augur train --config run.toml`: the file's keys are the long option names under a
  // section named for the subcommand ([train], [eval]); keys that match nothing are errors.
  app.set_config("--config", "", "Read options from a TOML file")->check(CLI::ExistingFile);
  app.config_formatter(std::make_shared<TomlConfig>(&app));
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.fallthrough();
  app.set_version_flag("--version", augur_version_line());
  register_info_command(app);
  register_train_commands(app);
  register_step_command(app);
  register_simulate_command(app);
}

int report_parse_error(CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  const std::string msg = e.what();
  const auto toml = std::dynamic_pointer_cast<TomlConfig>(app.get_config_formatter());
  const std::vector<CLI::App*> chosen = app.get_subcommands();
  // The first "--name" the message mentions, when the command line itself does not.
  const size_t at = msg.find("--");
  if (toml && !chosen.empty() && at != std::string::npos) {
    size_t end = at + 2;
    while (end < msg.size() && (std::isalnum(static_cast<unsigned char>(msg[end])) ||
                                msg[end] == '-' || msg[end] == '_'))
      ++end;
    const std::string option = msg.substr(at, end - at);
    bool on_command_line = false;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      on_command_line = on_command_line || a == option || a.rfind(option + "=", 0) == 0;
    }
    const std::string where = toml->origin(chosen.front()->get_name(), option);
    if (!where.empty() && !on_command_line) {
      std::cerr << "augur " << chosen.front()->get_name() << ": error: " << where << ": " << msg
                << "\n";
      return e.get_exit_code();
    }
  }
  return app.exit(e);
}

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
