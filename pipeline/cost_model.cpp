#include "pipeline/cost_model.h"

#include <cmath>
#include <numeric>

#include "runtime/error.h"

namespace augur {

namespace {
// f32 words a fused update-and-predict step reads or writes per parameter (see the header).
constexpr double kStepBytesPerParameter = 7 * 4;
}  // namespace

double LinkModel::transfer_us(double bytes) const {
  return latency_us + (bytes_per_us > 0 ? bytes / bytes_per_us : 0.0);
}

LinkModel LinkModel::from_gbps(double gigabits_per_s, double latency_us) {
  AUGUR_ARG_CHECK(gigabits_per_s >= 0 && latency_us >= 0, "link: bandwidth ", gigabits_per_s,
                  " Gbit/s and latency ", latency_us, " us must not be negative");
  return {latency_us, gigabits_per_s * 1e9 / 8 / 1e6};
}

double AllReduceModel::time_us(double bytes) const {
  AUGUR_ARG_CHECK(replicas >= 1, "all-reduce over ", replicas, " replicas");
  if (replicas == 1 || bytes <= 0) return 0;
  const double rounds = 2.0 * (replicas - 1);
  return rounds * link.transfer_us(bytes / replicas);
}

CostModel uniform_costs(int stages, double forward_us, double backward_us, double step_us,
                        double boundary_bytes) {
  AUGUR_ARG_CHECK(stages >= 1, "uniform_costs: stages must be >= 1, got ", stages);
  AUGUR_ARG_CHECK(forward_us >= 0 && backward_us >= 0 && step_us >= 0 && boundary_bytes >= 0,
                  "uniform_costs: negative cost");
  CostModel c;
  c.stages.assign(static_cast<size_t>(stages),
                  {forward_us, backward_us, step_us, boundary_bytes, boundary_bytes, 0});
  c.stages.back().activation_bytes = 0;
  c.stages.front().gradient_bytes = 0;
  return c;
}

std::vector<StageCost> stage_costs(const std::vector<UnitCost>& units, int64_t micro_batch,
                                   const std::vector<int>& balance, const AnalyticDevice& device,
                                   double scale) {
  const int n = static_cast<int>(units.size());
  const int total = std::accumulate(balance.begin(), balance.end(), 0);
  AUGUR_ARG_CHECK(!balance.empty() && total == n, "balance covers ", total,
                  " units, the costs have ", n);
  std::vector<StageCost> stages;
  int u = 0;
  for (size_t r = 0; r < balance.size(); ++r) {
    AUGUR_ARG_CHECK(balance[r] >= 1, "balance: stage ", r, " has ", balance[r], " units");
    StageCost c;
    int64_t params = 0;
    for (int k = 0; k < balance[r]; ++k, ++u) {
      const UnitCost& uc = units[size_t(u)];
      c.forward_us += uc.forward_ms * 1e3 * scale;
      c.backward_us += uc.backward_ms * 1e3 * scale;
      params += uc.param_count;
    }
    c.step_us = double(params) * kStepBytesPerParameter / device.memory_bytes_per_s * 1e6;
    c.gradient_arena_bytes = double(params) * 4;
    if (r + 1 < balance.size())
      c.activation_bytes =
          double(units[size_t(u) - 1].activation_bytes_per_sample) * micro_batch * scale;
    if (r > 0) c.gradient_bytes = stages.back().activation_bytes;
    stages.push_back(c);
  }
  return stages;
}

}  // namespace augur
