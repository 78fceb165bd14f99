// Structural checks on a schedule, shared by the simulator and the engine before they run
// one. They catch what no amount of waiting can reveal: actions filed under the wrong stage,
// micro-batches out of range, a forward or backward missing or repeated, a backward before
// its forward, communication in an unlowered schedule or at the wrong end of the pipeline,
// a send before the pass that produces its data, a pass without the receive that feeds it.
// A receive whose send is missing or comes too late is not an error here: running the
// schedule shows it as a deadlock.
#pragma once

#include "pipeline/action.h"

namespace augur {

// Throws augur::Error naming the stage, the action and its position.
void check_schedule(const Schedule& schedule);

}  // namespace augur
