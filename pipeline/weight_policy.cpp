#include "pipeline/weight_policy.h"

#include "runtime/enum_names.h"

namespace augur {

namespace {
const std::vector<WeightPolicy> kPolicies = {WeightPolicy::Latest, WeightPolicy::Stash,
                                             WeightPolicy::Predict, WeightPolicy::PredictStash};
}

WeightPolicy parse_weight_policy(const std::string& name) {
  return parse_enum(name, kPolicies, weight_policy_name, "weight policy");
}

const std::vector<std::string>& weight_policy_names() {
  static const std::vector<std::string> names = enum_names(kPolicies, weight_policy_name);
  return names;
}

const char* weight_policy_name(WeightPolicy policy) {
  switch (policy) {
    case WeightPolicy::Latest: return "latest";
    case WeightPolicy::Stash: return "stash";
    case WeightPolicy::Predict: return "predict";
    case WeightPolicy::PredictStash: return "predict-stash";
  }
  return "?";
}

}  // namespace augur
