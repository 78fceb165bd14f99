// The least a stage can be, for measuring what the engine itself costs: one pass-through
// layer with one parameter whose gradient is 1 (y = x), on the CPU.
#pragma once

#include <vector>

#include "pipeline/engine.h"

namespace augur::bench {

std::vector<StageModel> pass_through_stages(int stages);

}  // namespace augur::bench
