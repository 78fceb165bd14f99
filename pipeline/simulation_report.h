// The simulator's result as text, as `augur simulate` prints it.
#pragma once

#include <cstddef>
#include <string>

#include "pipeline/simulator.h"

namespace augur {

// Makespan, bubble fraction, one row per stage (busy time, utilisation, peak in-flight
// activations, stash versions, steps, staleness min/mean/max) and, when stages x
// micro-batches <= grid_limit, the full staleness grid. On deadlock: the message and grid.
std::string format_simulation_report(const Schedule& schedule, const SimulationResult& result,
                                     size_t grid_limit = 512);

}  // namespace augur
