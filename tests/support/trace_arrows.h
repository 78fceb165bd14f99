// The arrows (flow events) of a Chrome trace: each message's start and finish, paired by id.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <tuple>

namespace augur::test {

struct Arrow {
  std::string name;
  int from_pid = -1, to_pid = -1;
  double from_ts = 0, to_ts = 0;
  int starts = 0, finishes = 0;  // 1 and 1 when paired
};

// By id.
inline std::map<uint64_t, Arrow> arrows(const nlohmann::json& trace) {
  std::map<uint64_t, Arrow> out;
  for (const auto& e : trace.at("traceEvents")) {
    const std::string ph = e.at("ph");
    if (ph != "s" && ph != "f") continue;
    Arrow& a = out[e.at("id").get<uint64_t>()];
    a.name = e.at("name");
    if (ph == "s") {
      ++a.starts;
      a.from_pid = e.at("pid");
      a.from_ts = e.at("ts");
    } else {
      ++a.finishes;
      a.to_pid = e.at("pid");
      a.to_ts = e.at("ts");
    }
  }
  return out;
}

}  // namespace augur::test
