// Whether a lowered schedule completes when its communication matches the way NCCL matches
// it: between two ranks, sends and receives pair up in issue order, untagged, and a
// communication operation blocks its rank until its partner has been issued. The operations
// of one group (a run of adjacent communication actions, issued together as
// ncclGroupStart/End, see Transport::exchange) progress together; groups of one rank run one
// after the other. With R data-parallel replicas, rank (stage r, replica d) talks to the
// ranks of replica d, and before every Step the R replicas of a stage all-reduce their
// gradients: a collective that completes once all R have issued it.
//
// The mailbox semantics the simulator and the in-process transport use (a send never
// blocks) hide orders that hang under NCCL: issued one by one, 1f1b and pipedream deadlock for
// most (K, M) already at K = 2, M = 2 (stage 0 sends activation 1 while stage 1 sends gradient
// 0). This check is run by the tests over every generator and by the engine before it runs
// a schedule across processes.
#pragma once

#include <string>
#include <vector>

#include "pipeline/action.h"

namespace augur {

struct RendezvousOptions {
  int replicas = 1;     // R pipelines, their stages' gradients all-reduced before each Step
  bool grouped = true;  // adjacent communication actions issued as one group
};

struct RendezvousResult {
  bool completes = false;
  std::string problem;  // empty when it completes: a deadlock or a mismatched pair
  // Where each stage of the first replica that did not finish stands (list positions), and
  // the grid of it (format_grid, blocked actions bracketed).
  int replica = 0;
  std::vector<size_t> positions;
  std::string grid;
};

RendezvousResult check_rendezvous(const Schedule& lowered, const RendezvousOptions& options = {});

}  // namespace augur
