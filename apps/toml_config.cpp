#include "apps/toml_config.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>
#include <sstream>

namespace augur {

namespace {

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw CLI::ConfigError(where + ": " + what);
}

bool bare_key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

// Reads one TOML value at text[pos] into `out` (strings unquoted), advancing pos; false when
// there is no value there.
bool read_value(const std::string& t, size_t& pos, std::string* out, const std::string& where) {
  if (pos >= t.size()) return false;
  const char q = t[pos];
  if (q == '"' || q == '\'') {
    std::string s;
    for (++pos; pos < t.size() && t[pos] != q; ++pos) {
      if (q == '"' && t[pos] == '\\') {
        if (++pos >= t.size()) break;
        switch (t[pos]) {
          case '"': s += '"'; break;
          case '\\': s += '\\'; break;
          case 'n': s += '\n'; break;
          case 't': s += '\t'; break;
          default: fail(where, std::string("unknown escape '\\") + t[pos] + "' in a string");
        }
      } else {
        s += t[pos];
      }
    }
    if (pos >= t.size()) fail(where, "a string is not closed (missing " + std::string(1, q) + ")");
    ++pos;
    *out = s;
    return true;
  }
  // A number or a boolean: the characters up to a separator.
  size_t end = pos;
  while (end < t.size() && t[end] != ',' && t[end] != ']' && t[end] != '#' &&
         !std::isspace(static_cast<unsigned char>(t[end])))
    ++end;
  const std::string word = t.substr(pos, end - pos);
  if (word.empty()) return false;
  const bool boolean = word == "true" || word == "false";
  bool number = word.find_first_not_of("0123456789+-._eE") == std::string::npos &&
                word.find_first_of("0123456789") != std::string::npos;
  for (const char* special : {"inf", "+inf", "-inf", "nan", "+nan", "-nan"})
    number = number || word == special;
  if (!boolean && !number)
    fail(where, "'" + word + "' is not a TOML value (text needs quotes: \"" + word + "\")");
  pos = end;
  std::string w = word;
  w.erase(std::remove(w.begin(), w.end(), '_'), w.end());  // TOML's 1_000
  *out = w;
  return true;
}

// The subcommand of that name, or null (CLI11 2.1's lookup throws).
const CLI::App* find_subcommand(const CLI::App* root, const std::string& name) {
  const std::function<bool(const CLI::App*)> all;
  for (const CLI::App* sub : root->get_subcommands(all))
    if (sub->get_name() == name) return sub;
  return nullptr;
}

void skip_space(const std::string& t, size_t& pos) {
  while (pos < t.size() && std::isspace(static_cast<unsigned char>(t[pos]))) ++pos;
}

}  // namespace

std::string TomlConfig::to_config(const CLI::App*, bool, bool, std::string) const {
  return "";  // Augur writes its options as args.json, never as a config file
}

std::string TomlConfig::origin(const std::string& command, const std::string& option) const {
  auto it = origins_.find(command + " " + option);
  return it == origins_.end() ? "" : it->second;
}

std::vector<CLI::ConfigItem> TomlConfig::from_config(std::istream& in) const {
  std::string file = "the config file";
  if (const CLI::Option* opt = root_->get_config_ptr(); opt != nullptr && opt->count() > 0)
    file = opt->results().back();
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), file);
}

std::vector<CLI::ConfigItem> TomlConfig::parse(const std::string& text,
                                               const std::string& file) const {
  origins_.clear();
  std::vector<CLI::ConfigItem> out;
  std::string section;  // "": options of the root command
  std::set<std::string> seen;
  std::istringstream lines(text);
  std::string line;
  for (int n = 1; std::getline(lines, line); ++n) {
    const std::string where = file + " line " + std::to_string(n);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t pos = 0;
    skip_space(line, pos);
    if (pos == line.size() || line[pos] == '#') continue;
    if (line[pos] == '[') {
      const bool table_array = line.compare(pos, 2, "[[") == 0;
      const size_t close = line.find(table_array ? "]]" : "]", pos);
      if (close == std::string::npos) fail(where, "a section header is not closed (missing ])");
      std::string name =
          line.substr(pos + (table_array ? 2 : 1), close - pos - (table_array ? 2 : 1));
      size_t rest = close + (table_array ? 2 : 1);
      skip_space(line, rest);
      if (rest < line.size() && line[rest] != '#')
        fail(where, "text after the section header [" + name + "]");
      if (table_array) fail(where, "[[" + name + "]]: arrays of tables are not options");
      if (find_subcommand(root_, name) == nullptr) {
        std::string known;
        for (const CLI::App* sub : root_->get_subcommands(std::function<bool(const CLI::App*)>()))
          known += (known.empty() ? "" : ", ") + ("[" + sub->get_name() + "]");
        fail(where, "unknown section [" + name + "]; the sections are the subcommands: " + known);
      }
      section = name;
      continue;
    }
    // key = value
    std::string key;
    if (line[pos] == '"' || line[pos] == '\'') {
      if (!read_value(line, pos, &key, where)) fail(where, "an empty key");
    } else {
      while (pos < line.size() && bare_key_char(line[pos])) key += line[pos++];
    }
    skip_space(line, pos);
    if (key.empty() || pos >= line.size() || line[pos] != '=')
      fail(where, "expected 'key = value', a [section] or a # comment");
    ++pos;
    skip_space(line, pos);
    std::vector<std::string> values;
    if (pos < line.size() && line[pos] == '[') {
      ++pos;
      for (;;) {
        skip_space(line, pos);
        if (pos < line.size() && line[pos] == ']') break;
        std::string v;
        if (!read_value(line, pos, &v, where)) fail(where, "an array is not closed (missing ])");
        values.push_back(v);
        skip_space(line, pos);
        if (pos < line.size() && line[pos] == ',')
          ++pos;
        else if (pos >= line.size() || line[pos] != ']')
          fail(where, "array values are separated by commas and closed by ]");
      }
      ++pos;
    } else {
      std::string v;
      if (!read_value(line, pos, &v, where)) fail(where, "'" + key + " =' has no value");
      values.push_back(v);
    }
    skip_space(line, pos);
    if (pos < line.size() && line[pos] != '#')
      fail(where, "text after the value of '" + key + "': '" + line.substr(pos) + "'");
    // The key must be an option of its section's command.
    const CLI::App* command = section.empty() ? root_ : find_subcommand(root_, section);
    const CLI::Option* opt = command->get_option_no_throw("--" + key);
    const std::string shown = section.empty() ? key : "[" + section + "] " + key;
    if (opt == nullptr || !opt->get_configurable())
      fail(where, "'" + key + "' is not an option of augur" +
                      (section.empty() ? std::string("") : " " + section) +
                      (section.empty() ? " (options go under a [train] or other subcommand section)"
                                       : ""));
    if (!seen.insert(section + " " + key).second) fail(where, shown + " is set twice");
    origins_[section + " --" + key] = where;
    CLI::ConfigItem item;
    if (!section.empty()) item.parents = {section};
    item.name = key;
    item.inputs = values;
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace augur
