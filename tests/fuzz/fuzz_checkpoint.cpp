// A training checkpoint as `--resume` and `augur eval --weights` read it: the model's tensors,
// the optimizer arenas, the predictor's last gradients and the training state in the metadata,
// into a two-stage engine small enough that a valid checkpoint is a few kilobytes (resnet20's
// stem and first block).
#include <cstdint>
#include <cstdlib>

#include "apps/checkpoint.h"
#include "fuzz_util.h"
#include "models/resnet_spec.h"
#include "runtime/error.h"

namespace {

augur::Engine& engine() {
  static augur::Engine e = [] {
    augur::ModelSpec spec = augur::resnet_spec("resnet20", {10, 3, 8});
    spec.units.resize(2);
    augur::optim::OptimizerConfig sgd;
    sgd.sgd.momentum = 0.9;
    return augur::Engine(spec, {{0, 1, augur::Device::cpu()}, {1, 2, augur::Device::cpu()}}, sgd,
                         augur::optim::LrSchedule(), 1, augur::EngineOptions{});
  }();
  return e;
}

}  // namespace

// AUGUR_FUZZ_WRITE_SEED=PATH: write a valid checkpoint of this engine there and exit (how
// tests/fuzz/make_seeds.py makes the seed).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* out = std::getenv("AUGUR_FUZZ_WRITE_SEED")) {
    augur::save_checkpoint(out, engine(), {1, 3, "1,1", "resnet20", "{}"});
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = augur::fuzz::write_file("checkpoint.safetensors", data, size);
  try {
    augur::load_checkpoint(path, &engine());
  } catch (const augur::Error&) {
  }
  try {
    augur::load_model_weights(path, &engine());
  } catch (const augur::Error&) {
  }
  return 0;
}
