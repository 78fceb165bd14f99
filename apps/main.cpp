// `augur`: one binary, one subcommand per job.
#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

#include "apps/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Augur: pipeline-parallel ResNet training with weight prediction", "augur"};
  app.require_subcommand(1);
  // `augur train --config run.toml`: the file's keys are the long option names under a
  // section named for the subcommand ([train], [eval]); keys that match nothing are errors.
  app.set_config("--config", "", "Read options from a TOML file")->check(CLI::ExistingFile);
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.fallthrough();
  app.set_version_flag("--version", augur::augur_version_line());
  augur::register_info_command(app);
  augur::register_train_commands(app);
  augur::register_step_command(app);
  augur::register_simulate_command(app);
  try {
    app.parse(argc, argv);
    return augur::run_selected_command(app);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "augur: error: " << e.what() << "\n";
    return 1;
  }
}
