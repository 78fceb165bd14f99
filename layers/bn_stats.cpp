#include "layers/layer.h"
#include "runtime/error.h"

namespace augur {

const std::vector<std::string>& bn_stats_names() {
  static const std::vector<std::string> names = {"micro", "deferred"};
  return names;
}

const char* bn_stats_name(BnStatsMode mode) {
  return mode == BnStatsMode::Deferred ? "deferred" : "micro";
}

BnStatsMode parse_bn_stats(const std::string& name) {
  for (BnStatsMode m : {BnStatsMode::Micro, BnStatsMode::Deferred})
    if (name == bn_stats_name(m)) return m;
  throw Error("unknown BatchNorm statistics mode '" + name + "'; choices: micro deferred");
}

}  // namespace augur
