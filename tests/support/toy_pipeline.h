// The small pipeline the engine tests train: resnet20 on 8x8 single-channel images (11 units,
// fast on the CPU), seeded data cut into micro-batches, an even split into stages on the
// CPU, and SGD with momentum and weight decay.
#pragma once

#include <vector>

#include "pipeline/engine.h"
#include "runtime/random.h"
#include "tests/support/random.h"

namespace augur::test {

inline ModelSpec toy_spec() {
  return resnet_spec("resnet20", {10, 1, 8});
}

struct ToyData {
  std::vector<float> images;  // NHWC
  std::vector<int64_t> labels;
  int per = 0;  // samples per micro-batch
  MicroBatch get(int mb) {
    MicroBatch m;
    m.images = TensorView(images.data() + size_t(mb) * per * 64, DType::F32, Device::cpu(),
                          Shape::nhwc(per, 8, 8, 1));
    m.labels = TensorView(labels.data() + size_t(mb) * per, DType::I64, Device::cpu(), Shape{per});
    return m;
  }
};

inline ToyData make_data(int micro_batches, int per, uint64_t seed) {
  ToyData d;
  d.per = per;
  d.images = random_floats(size_t(micro_batches) * per * 64, seed);
  Random rng(seed + 1);
  for (int i = 0; i < micro_batches * per; ++i) d.labels.push_back(int64_t(rng.below(10)));
  return d;
}

inline std::vector<StagePlacement> even_placement(const ModelSpec& spec, int stages) {
  std::vector<StagePlacement> p;
  const size_t n = spec.units.size();
  for (int r = 0; r < stages; ++r)
    p.push_back({n * r / stages, n * (r + 1) / stages, Device::cpu()});
  return p;
}

inline optim::OptimizerConfig sgd(double momentum = 0.9, double wd = 1e-3) {
  optim::OptimizerConfig c;
  c.sgd.momentum = momentum;
  c.sgd.weight_decay = wd;
  return c;
}

}  // namespace augur::test
