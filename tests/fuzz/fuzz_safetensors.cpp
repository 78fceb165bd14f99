// safetensors as Augur reads weights: the header, every tensor's bytes, and the import into a
// model (names, shapes and dtypes matched against resnet20's).
#include <cstdint>
#include <vector>

#include "models/resnet.h"
#include "models/safetensors.h"
#include "models/state_dict.h"
#include "runtime/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const augur::StageNet net = [] {
    const augur::ModelSpec spec = augur::resnet_spec("resnet20", {10, 3, 32});
    return augur::build_stage(spec, 0, spec.units.size());
  }();
  try {
    const auto file =
        augur::SafetensorsFile::parse(std::vector<uint8_t>(data, data + size), "fuzz");
    uint64_t sum = 0;
    for (const auto& [name, e] : file.entries()) {
      const uint8_t* p = file.data(name);
      for (size_t i = 0; i < e.bytes(); ++i) sum += p[i];
    }
    std::vector<float> weights, state;
    augur::import_state_dict(net, file, &weights, &state, (sum & 1) != 0);
  } catch (const augur::Error&) {
  }
  return 0;
}
