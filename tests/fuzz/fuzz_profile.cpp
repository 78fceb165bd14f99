// A measured profile (`augur simulate --profile FILE`, `--balance auto`): the JSON read and
// checked against resnet20's units.
#include <cstdint>

#include "fuzz_util.h"
#include "models/resnet_spec.h"
#include "pipeline/unit_profiler.h"
#include "runtime/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const augur::ModelSpec spec = augur::resnet_spec("resnet20", {10, 3, 32});
  const std::string path = augur::fuzz::write_file("profile.json", data, size);
  try {
    const augur::UnitProfile p = augur::load_profile_json(path);
    augur::check_profile_matches(p, spec, 0, path);
  } catch (const augur::Error&) {
  }
  return 0;
}
