#include "pipeline/staleness.h"

#include <algorithm>

#include "pipeline/schedule_check.h"

namespace augur {

namespace {

// One walk over a checked schedule; null outputs are skipped.
struct Walk {
  RealisedVersions* versions = nullptr;
  std::vector<std::vector<int>>* staleness = nullptr;
  std::vector<int>* stash = nullptr;
  std::vector<int>* peak = nullptr;
  std::vector<int>* steps = nullptr;

  void run(const Schedule& s) const {
    const size_t k = s.actions.size(), m = size_t(s.micro_batches);
    if (versions) {
      versions->forward.assign(k, std::vector<int>(m, 0));
      versions->backward.assign(k, std::vector<int>(m, 0));
    }
    if (staleness) staleness->assign(k, std::vector<int>(m, 0));
    for (auto* v : {stash, peak, steps})
      if (v) v->assign(k, 0);
    std::vector<int> version_of(m, 0);  // the version micro-batch i's forward used
    std::vector<int> users;  // per version: in-flight micro-batches whose forward used it
    for (size_t r = 0; r < k; ++r) {
      const auto& list = s.actions[r];
      if (stash) users.assign(list.size() + 1, 0);
      int t = 0, live = 0, distinct = 0, most_live = 0, most_distinct = 0;
      for (const Action& a : list) {
        const size_t i = size_t(a.micro_batch);
        switch (a.kind) {
          case ActionKind::Step: ++t; break;
          case ActionKind::Forward:
            version_of[i] = t;
            most_live = std::max(most_live, ++live);
            if (stash && users[size_t(t)]++ == 0)
              most_distinct = std::max(most_distinct, ++distinct);
            if (versions) versions->forward[r][i] = t;
            break;
          case ActionKind::Backward:
            --live;
            if (stash && --users[size_t(version_of[i])] == 0) --distinct;
            if (versions) versions->backward[r][i] = t;
            if (staleness) (*staleness)[r][i] = t - version_of[i];
            break;
          default: break;
        }
      }
      if (stash) (*stash)[r] = most_distinct;
      if (peak) (*peak)[r] = most_live;
      if (steps) (*steps)[r] = t;
    }
  }
};

}  // namespace

RealisedVersions realised_versions(const Schedule& schedule) {
  check_schedule(schedule);
  RealisedVersions v;
  Walk w;
  w.versions = &v;
  w.run(schedule);
  return v;
}

std::vector<std::vector<int>> realised_staleness(const Schedule& schedule) {
  check_schedule(schedule);
  std::vector<std::vector<int>> out;
  Walk w;
  w.staleness = &out;
  w.run(schedule);
  return out;
}

std::vector<int> stash_versions(const Schedule& schedule) {
  check_schedule(schedule);
  std::vector<int> out;
  Walk w;
  w.stash = &out;
  w.run(schedule);
  return out;
}

std::vector<int> peak_in_flight(const Schedule& schedule) {
  check_schedule(schedule);
  std::vector<int> out;
  Walk w;
  w.peak = &out;
  w.run(schedule);
  return out;
}

std::vector<int> steady_staleness(const Schedule& schedule) {
  std::vector<int> out;
  for (const std::vector<int>& stage : realised_staleness(schedule)) {
    int most = 0;
    for (int s : stage) most = std::max(most, s);
    out.push_back(most);
  }
  return out;
}

std::vector<int> steps_per_stage(const Schedule& schedule) {
  check_schedule(schedule);
  std::vector<int> out;
  Walk w;
  w.steps = &out;
  w.run(schedule);
  return out;
}

VersionReport version_report(const Schedule& schedule) {
  check_schedule(schedule);
  VersionReport out;
  Walk w;
  w.staleness = &out.staleness;
  w.stash = &out.stash_versions;
  w.peak = &out.peak_in_flight;
  w.steps = &out.steps;
  w.run(schedule);
  return out;
}

}  // namespace augur
