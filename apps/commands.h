// Registration of the subcommands. Each adds its options to the CLI11 app and records how
// to run itself; main() runs whichever was selected.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace augur {

std::string augur_version_line();
void register_info_command(CLI::App& app);
void register_step_command(CLI::App& app);
void register_train_commands(CLI::App& app);
void register_simulate_command(CLI::App& app);
// Runs the subcommand the user chose; returns the process exit code.
int run_selected_command(CLI::App& app);

// Commands attach their runner here while registering.
void set_command_runner(CLI::App* sub, std::function<int()> runner);

}  // namespace augur
