#include "layers/layer.h"
#include "runtime/enum_names.h"

namespace augur {

namespace {
const std::vector<BnStatsMode> kModes = {BnStatsMode::Micro, BnStatsMode::Deferred};
}

const std::vector<std::string>& bn_stats_names() {
  static const std::vector<std::string> names = enum_names(kModes, bn_stats_name);
  return names;
}

const char* bn_stats_name(BnStatsMode mode) {
  return mode == BnStatsMode::Deferred ? "deferred" : "micro";
}

BnStatsMode parse_bn_stats(const std::string& name) {
  return parse_enum(name, kModes, bn_stats_name, "BatchNorm statistics mode");
}

}  // namespace augur
