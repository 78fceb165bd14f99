// Builds runnable layers from the ResNet table. A stage is a contiguous range of units
// [first, end) with its own parameter and state arenas; the whole model is the one-stage
// case. Parameters are initialised as torchvision does, from a seed.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "layers/sequential.h"
#include "models/resnet_spec.h"

namespace augur {

std::unique_ptr<Layer> build_unit(const UnitSpec& unit);

struct StageNet {
  ModelSpec spec;
  size_t first_unit = 0, end_unit = 0;
  std::unique_ptr<Sequential> net;
  ArenaLayout params;  // trained parameters (weights, gradients, optimizer state share it)
  ArenaLayout state;   // BatchNorm running statistics and counters
};

StageNet build_stage(const ModelSpec& spec, size_t first_unit, size_t end_unit);
inline StageNet build_model(const ModelSpec& spec) {
  return build_stage(spec, 0, spec.units.size());
}

// Host arenas initialised like torchvision: convs Kaiming-normal (fan-out, ReLU gain), BN
// weight 1 and bias 0, running mean 0 and variance 1, Linear weight and bias uniform in
// +-1/sqrt(fan_in). Each tensor draws from its own stream keyed by (seed, name), so a
// parameter's initial value does not depend on how the model is split into stages.
void initialize_stage(const StageNet& stage, uint64_t seed, std::vector<float>* weights,
                      std::vector<float>* state);

// One training forward and backward of a whole model under softmax cross-entropy: parameter
// gradients add into pass.grads and running statistics update in pass.state. The logits are
// a view into `saved`, valid while it lives.
struct LossPass {
  TensorView logits;
  Tensor loss;  // [1], the mean over the batch
};
LossPass forward_backward(const StageNet& model, const Pass& pass, Saved& saved,
                          const TensorView& images, const TensorView& labels,
                          double label_smoothing = 0);

// Conv weights: PyTorch's OIHW [K, C, R, S] <-> Augur's KRSC [K, R, S, C].
void oihw_to_krsc(const float* src, float* dst, int64_t k, int64_t c, int64_t r, int64_t s);
void krsc_to_oihw(const float* src, float* dst, int64_t k, int64_t r, int64_t s, int64_t c);
// The PyTorch shape of an arena entry (rank-4 entries are conv weights stored KRSC).
std::vector<int64_t> pytorch_shape(const ArenaEntry& entry);

}  // namespace augur
