// Registration of the subcommands. Each adds its options to the CLI11 app and records how
// to run itself; main() runs whichever was selected.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace augur {

std::string augur_version_line();
// The whole command line: --config, --version and every subcommand (what main() parses, and
// the config fuzz harness with it).
void configure_root_app(CLI::App& app);
// What main() does with a command-line error: CLI11's message, prefixed with "FILE line N"
// when the option it names was set by the --config file rather than on the command line.
int report_parse_error(CLI::App& app, const CLI::ParseError& e, int argc, char** argv);
void register_info_command(CLI::App& app);
void register_step_command(CLI::App& app);
void register_train_commands(CLI::App& app);
void register_simulate_command(CLI::App& app);
// Runs the subcommand the user chose; returns the process exit code.
int run_selected_command(CLI::App& app);

// The items of a comma-separated flag value, empty items dropped ("1,,2" -> {"1", "2"}).
std::vector<std::string> split_list(const std::string& text);
// The device name of each of `stages` stages from a --devices value: one name for every
// stage, or one per stage (else an error naming --devices); empty when the value is.
std::vector<std::string> devices_per_stage(const std::string& devices, int stages);

// Commands attach their runner here while registering.
void set_command_runner(CLI::App* sub, std::function<int()> runner);

}  // namespace augur
