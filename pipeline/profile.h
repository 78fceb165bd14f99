// Per-unit cost profiles: what the profiler measures (or the analytic model estimates) for
// each partitionable unit of a model, and what the partitioner and the simulator read.
//
// JSON form (times in milliseconds and bytes for ONE micro-batch of micro_batch_size samples):
//   {"format": "augur-profile", "version": 1,
//    "model": "resnet50", "image_size": 224, "micro_batch_size": 32,
//    "device": "NVIDIA H100 80GB HBM3", "dtype": "f32",
//    "units": [{"name": "stem", "forward_ms": 0.41, "backward_ms": 0.83,
//               "output_bytes": 25690112, "param_count": 9536}, ...]}
// Units are in model order; output_bytes is the unit's output activation (what a stage
// boundary after it sends forward; its gradient has the same size going back).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace augur {

struct UnitProfile {
  std::string name;  // the model's unit name ("stem", "layer2.3", "head")
  double forward_ms = 0;
  double backward_ms = 0;
  int64_t output_bytes = 0;
  int64_t param_count = 0;
};

struct Profile {
  std::string model;
  int image_size = 0;
  int micro_batch_size = 1;
  std::string device;  // where it was measured, or "analytic"
  std::string dtype = "f32";
  std::vector<UnitProfile> units;
};

nlohmann::json profile_to_json(const Profile& profile);
// Throws naming the missing or ill-typed field; negative costs are rejected.
Profile profile_from_json(const nlohmann::json& json);
Profile load_profile(const std::string& path);
void save_profile(const Profile& profile, const std::string& path);

}  // namespace augur
