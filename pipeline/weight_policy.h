// Which weight version each pass of a micro-batch computes with (design, section 4):
//   latest         F: current weights at F time; B: current weights at B time
//   stash          F: current weights, kept; B: the version F used (PipeDream stashing)
//   predict        F: weights predicted s steps ahead; B: current weights (the version the
//                  prediction aimed at)
//   predict-stash  F and B: the predicted weights
// where s is the realised staleness of the micro-batch on that stage. Synchronous schedules
// never step between F and B, so every policy computes the same thing there.
#pragma once

#include <string>
#include <vector>

namespace augur {

enum class WeightPolicy { Latest, Stash, Predict, PredictStash };

WeightPolicy parse_weight_policy(const std::string& name);  // throws listing the choices
const char* weight_policy_name(WeightPolicy policy);
const std::vector<std::string>& weight_policy_names();

inline bool forward_predicts(WeightPolicy p) {
  return p == WeightPolicy::Predict || p == WeightPolicy::PredictStash;
}
inline bool backward_reuses_forward_weights(WeightPolicy p) {
  return p == WeightPolicy::Stash || p == WeightPolicy::PredictStash;
}

}  // namespace augur
