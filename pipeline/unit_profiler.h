// Measured unit costs: each unit is built alone on the target device and timed forward and
// backward on random input of its input shape, so the partitioner can balance what the
// device really does (memory-bound norms and small layers included) instead of multiply-adds.
// A profile is saved and loaded as JSON so a long measurement is done once per device.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/resnet_spec.h"
#include "pipeline/partitioner.h"
#include "runtime/device.h"

namespace augur {

struct UnitProfile {
  std::string model;               // "resnet50"
  ResNetOptions options;           // classes, input channels, image size it was measured at
  int64_t micro_batch = 0;         // samples per measured forward/backward
  std::string device;              // "cuda:0"
  std::string device_description;  // "cuda:0: NVIDIA H100 ..." (informational)
  int repeats = 0;                 // timed runs per unit (the median is kept)
  std::vector<UnitCost> units;     // in model order
};

// Times every unit of `spec` on `device`: one warm-up forward+backward, then `repeats` timed
// ones (device-synchronised events around each pass), keeping the median of each. Memory
// figures are measured too: saved bytes are what the unit's forward kept for backward.
// Throws when the device does not exist; never falls back to the CPU.
UnitProfile profile_units(const ModelSpec& spec, int64_t micro_batch, const Device& device,
                          int repeats, uint64_t seed = 1);

// Writes the profile as JSON; throws naming the file when it cannot be written.
void save_profile_json(const UnitProfile& profile, const std::string& path);
// Reads and validates a profile (format, every field present with the right type, times and
// sizes non-negative, at least one unit); errors name the file and what is wrong.
UnitProfile load_profile_json(const std::string& path);
// Throws naming `source` when the profile's units are not those of `spec` (count and names,
// in order) or, when micro_batch > 0, it was measured at another micro-batch size.
void check_profile_matches(const UnitProfile& profile, const ModelSpec& spec, int64_t micro_batch,
                           const std::string& source);

}  // namespace augur
