// Lowering: makes a schedule's communication explicit. After every F(mb) on a stage r < K-1
// it inserts SendAct(mb) on r, and before the F(mb) on r+1 the matching RecvAct(mb); after
// every B(mb) on a stage r > 0 it inserts SendGrad(mb) on r, and before the B(mb) on r-1 the
// matching RecvGrad(mb). Nothing else moves, so the compute order of every stage is the
// generator's.
#pragma once

#include "pipeline/action.h"

namespace augur {

// Throws when `schedule` is already lowered or holds communication actions.
Schedule lower(const Schedule& schedule);

}  // namespace augur
