#include "pipeline/schedule_text.h"

#include <algorithm>
#include <sstream>

#include "runtime/error.h"

namespace augur {

std::string format_action_lists(const std::vector<std::vector<Action>>& lists) {
  std::string out;
  for (const auto& list : lists) {
    for (size_t i = 0; i < list.size(); ++i) {
      if (i) out += ' ';
      out += list[i].str();
    }
    out += '\n';
  }
  return out;
}

std::string format_schedule(const Schedule& schedule) {
  return format_action_lists(schedule.actions);
}

std::vector<std::vector<Action>> parse_action_lists(const std::string& text) {
  std::vector<std::vector<Action>> lists;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const int stage = static_cast<int>(lists.size());
    auto& list = lists.emplace_back();
    std::istringstream tokens(line);
    std::string token;
    while (tokens >> token) {
      Action a{};
      try {
        a = parse_action(token);
      } catch (const Error& e) {
        AUGUR_THROW("action lists, line ", stage + 1, ": ", e.what());
      }
      AUGUR_ARG_CHECK(a.stage == stage, "action lists, line ", stage + 1, ": '", token,
                      "' belongs to stage ", a.stage, ", not to stage ", stage);
      list.push_back(a);
    }
  }
  return lists;
}

std::string format_grid(const Schedule& schedule, const std::vector<size_t>& positions,
                        const std::vector<std::string>& notes, size_t context) {
  AUGUR_ARG_CHECK(positions.size() == schedule.actions.size(), "format_grid: ", positions.size(),
                  " positions for ", schedule.actions.size(), " stages");
  std::ostringstream out;
  for (size_t r = 0; r < schedule.actions.size(); ++r) {
    const auto& list = schedule.actions[r];
    const size_t p = positions[r];
    out << "stage " << r << " [" << std::min(p, list.size()) << "/" << list.size() << "]:";
    const size_t begin = p > context ? p - context : 0;
    const size_t end = std::min(list.size(), p + context + 1);
    if (begin > 0) out << " ...";
    for (size_t i = begin; i < end; ++i) {
      out << ' ';
      if (i == p) {
        out << '[' << list[i].str() << ']';
      } else {
        out << list[i].str();
      }
    }
    if (end < list.size()) out << " ...";
    if (p >= list.size()) out << " done";
    if (r < notes.size() && !notes[r].empty()) out << "   <- " << notes[r];
    out << '\n';
  }
  return out.str();
}

}  // namespace augur
