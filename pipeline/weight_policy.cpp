#include "pipeline/weight_policy.h"

#include "runtime/error.h"

namespace augur {

WeightPolicy parse_weight_policy(const std::string& name) {
  if (name == "latest") return WeightPolicy::Latest;
  if (name == "stash") return WeightPolicy::Stash;
  if (name == "predict") return WeightPolicy::Predict;
  if (name == "predict-stash") return WeightPolicy::PredictStash;
  throw Error("unknown weight policy '" + name +
              "'; expected latest, stash, predict or predict-stash");
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
