// `augur`: one binary, one subcommand per job.
#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

#include "apps/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Augur: pipeline-parallel ResNet training with weight prediction", "augur"};
  augur::configure_root_app(app);
  try {
    app.parse(argc, argv);
    return augur::run_selected_command(app);
  } catch (const CLI::ParseError& e) {
    return augur::report_parse_error(app, e, argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "augur: error: " << e.what() << "\n";
    return 1;
  }
}
