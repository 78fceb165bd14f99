// The least a stage can be, for measuring what the engine itself costs: one pass-through
// layer with one parameter whose gradient is 1 (y = x), on the CPU.
#pragma once

#include <vector>

#include "pipeline/engine.h"

namespace augur::bench {

std::vector<StageModel> pass_through_stages(int stages);
// Micro-batches for them: one [1,1] image and its label, the same for every index.
MicroBatchSource pass_through_source();

}  // namespace augur::bench
