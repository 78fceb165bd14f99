// `--config FILE`: the TOML file the options come from, read strictly so that every mistake
// is reported with the file and line. Sections are subcommands ([train], [eval], ...), keys
// are their long option names without the dashes, values are TOML strings ("..." or '...'),
// numbers, booleans or one-line arrays; a comment starts with '#'. Everything else (a line
// that is no key = value, an unknown section or key, a repeated key, a bare word as a value)
// is an error naming FILE line N. CLI11's own reader accepts almost anything and reports
// problems as "INI was not able to parse <key>" without the file.
#pragma once

#include <CLI/CLI.hpp>

#include <map>
#include <string>
#include <vector>

namespace augur {

class TomlConfig : public CLI::Config {
 public:
  // `root`: the command line the file configures (its subcommands and their options decide
  // which sections and keys exist).
  explicit TomlConfig(const CLI::App* root) : root_(root) {}

  std::vector<CLI::ConfigItem> from_config(std::istream& in) const override;
  std::string to_config(const CLI::App*, bool, bool, std::string) const override;

  // "FILE line N" where the file set `option` ("--lr") for the subcommand `command`, or "".
  std::string origin(const std::string& command, const std::string& option) const;

  // The items of `text` (as from_config, with `file` naming it in errors).
  std::vector<CLI::ConfigItem> parse(const std::string& text, const std::string& file) const;

 private:
  const CLI::App* root_;
  mutable std::map<std::string, std::string> origins_;  // "command --option" -> "FILE line N"
};

}  // namespace augur
