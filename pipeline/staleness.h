// Weight versions as the lists realise them (design section 4). Each stage counts the
// optimizer steps it has applied, t_r. For micro-batch i on stage r, a = t_r when F(i) runs
// and b = t_r when B(i) runs; the realised staleness is s = b - a. Everything here is a pure
// walk over each stage's list (count the steps before each F and B), so warm-up, steady state
// and drain come out as the schedule has them: nothing assumes K-1-r. The simulator reports
// these and the engine cross-checks what it ran against them.
#pragma once

#include <vector>

#include "pipeline/action.h"

namespace augur {

struct RealisedVersions {
  // [stage][micro-batch]: steps stage r had applied when it ran F(i), and when it ran B(i).
  std::vector<std::vector<int>> forward;
  std::vector<std::vector<int>> backward;
};

// Throws (via check_schedule) when a stage lacks a forward or backward, repeats one, or
// runs a backward before its forward.
RealisedVersions realised_versions(const Schedule& schedule);

// [stage][micro-batch]: b - a. Zero everywhere for the synchronous schedules.
std::vector<std::vector<int>> realised_staleness(const Schedule& schedule);

// Per stage: the most distinct versions needed at once by micro-batches whose forward has run
// and whose backward has not -- what the `stash` policy must keep. The live weights count
// when an in-flight micro-batch used them.
std::vector<int> stash_versions(const Schedule& schedule);

// Per stage: the most micro-batches whose forward has run and whose backward has not, i.e.
// the saved activations a stage holds at its peak.
std::vector<int> peak_in_flight(const Schedule& schedule);

// Per stage: the largest realised staleness of its micro-batches, which a schedule long
// enough to reach its steady state gives as the steady-state staleness (K-1-r for pipedream;
// 0 for the synchronous schedules).
std::vector<int> steady_staleness(const Schedule& schedule);

// Per stage: the optimizer steps in its list.
std::vector<int> steps_per_stage(const Schedule& schedule);

// All of the above but the versions, from one walk over the lists (what the simulator uses).
struct VersionReport {
  std::vector<std::vector<int>> staleness;
  std::vector<int> stash_versions, peak_in_flight, steps;
};
VersionReport version_report(const Schedule& schedule);

}  // namespace augur
