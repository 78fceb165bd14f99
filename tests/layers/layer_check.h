// Checks a layer's CPU backward against central differences in double precision: the
// layer runs on f64 arenas and inputs, the scalar is f = sum(y * r) for a fixed random r,
// and the analytic gradients are the layer's dx and the parameter gradients it adds into
// the gradient arena.
#pragma once

#include <functional>
#include <string>

#include "layers/layer.h"
#include "tests/support/grad_check.h"

namespace augur::test {

struct LayerCheckOptions {
  uint64_t seed = 1;
  size_t max_coordinates = 60;  // per checked tensor (inputs, then all parameters)
  BnStatsMode bn_stats = BnStatsMode::Micro;
  // Fills the f64 parameter arena; default: uniform in [-1, 1].
  std::function<void(const ArenaLayout&, std::vector<double>&)> init_params;
  // Fills the input; default: uniform in [-1, 1].
  std::function<void(std::vector<double>&)> init_input;
};

struct LayerCheckResult {
  GradCheckResult input;
  GradCheckResult params;
};

LayerCheckResult check_layer_gradients(Layer& layer, const Shape& input_shape,
                                       const LayerCheckOptions& options = {});

}  // namespace augur::test
