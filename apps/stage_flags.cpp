#include "apps/stage_flags.h"

#include <algorithm>
#include <sstream>

#include "runtime/error.h"

namespace augur {

namespace {

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream is(text);
  while (std::getline(is, part, ',')) {
    const size_t b = part.find_first_not_of(" \t");
    const size_t e = part.find_last_not_of(" \t");
    parts.push_back(b == std::string::npos ? "" : part.substr(b, e - b + 1));
  }
  if (!text.empty() && text.back() == ',') parts.push_back("");
  return parts;
}

}  // namespace

std::vector<int> parse_balance(const std::string& text, int units, int stages) {
  std::vector<int> balance;
  for (const std::string& part : split_commas(text)) {
    size_t used = 0;
    long value = 0;
    try {
      value = std::stol(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    AUGUR_ARG_CHECK(!part.empty() && used == part.size(), "--balance '", text, "': '", part,
                    "' is not a whole number of units");
    AUGUR_ARG_CHECK(value >= 1, "--balance '", text, "': stage ", balance.size(), " has ", value,
                    " units; every stage needs at least one");
    AUGUR_ARG_CHECK(value <= units, "--balance '", text, "': stage ", balance.size(), " has ",
                    value, " units but the model has ", units);
    balance.push_back(int(value));
  }
  AUGUR_ARG_CHECK(!balance.empty(), "--balance is empty; give units per stage, e.g. 3,4,4,2");
  AUGUR_ARG_CHECK(stages <= 0 || balance.size() == size_t(stages), "--balance '", text, "' lists ",
                  balance.size(), " stages but --pp-stages is ", stages);
  int64_t sum = 0;
  for (int b : balance) sum += b;
  AUGUR_ARG_CHECK(sum == units, "--balance '", text, "' covers ", sum, " units but the model has ",
                  units);
  return balance;
}

std::vector<int> parse_split_at(const std::string& text, const std::vector<std::string>& unit_names,
                                int stages) {
  std::vector<size_t> starts;
  for (const std::string& name : split_commas(text)) {
    AUGUR_ARG_CHECK(!name.empty(), "--split-at '", text, "': empty unit name");
    const auto it = std::find(unit_names.begin(), unit_names.end(), name);
    if (it == unit_names.end()) {
      std::ostringstream known;
      for (const auto& n : unit_names) known << " " << n;
      AUGUR_THROW("--split-at '", text, "': unknown unit '", name, "'; units:", known.str());
    }
    const size_t index = size_t(it - unit_names.begin());
    AUGUR_ARG_CHECK(index > 0, "--split-at '", text, "': splitting at the first unit '", name,
                    "' leaves stage 0 empty");
    AUGUR_ARG_CHECK(starts.empty() || index > starts.back(), "--split-at '", text, "': '", name,
                    "' does not come after '", unit_names[starts.empty() ? 0 : starts.back()],
                    "'; name the units in model order, each once");
    starts.push_back(index);
  }
  AUGUR_ARG_CHECK(!starts.empty(), "--split-at is empty; name the first unit of each later stage");
  AUGUR_ARG_CHECK(stages <= 0 || starts.size() + 1 == size_t(stages), "--split-at '", text,
                  "' makes ", starts.size() + 1, " stages but --pp-stages is ", stages);
  std::vector<int> balance;
  size_t previous = 0;
  for (size_t s : starts) {
    balance.push_back(int(s - previous));
    previous = s;
  }
  balance.push_back(int(unit_names.size() - previous));
  return balance;
}

}  // namespace augur
