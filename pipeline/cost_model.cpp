#include "pipeline/cost_model.h"

#include <cmath>
#include <numeric>
#include <sstream>

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

CostModel uniform_costs(int stages, double forward_us, double backward_us, double step_us,
                        double boundary_bytes) {
  AUGUR_ARG_CHECK(stages >= 1, "uniform_costs: stages must be >= 1, got ", stages);
  AUGUR_ARG_CHECK(forward_us >= 0 && backward_us >= 0 && step_us >= 0 && boundary_bytes >= 0,
                  "uniform_costs: negative cost");
  CostModel c;
  c.stages.assign(static_cast<size_t>(stages),
                  {forward_us, backward_us, step_us, boundary_bytes, boundary_bytes});
  c.stages.back().activation_bytes = 0;
  c.stages.front().gradient_bytes = 0;
  return c;
}

Profile analytic_profile(const ModelSpec& model, int micro_batch_size,
                         const AnalyticDevice& device) {
  AUGUR_ARG_CHECK(micro_batch_size >= 1, "analytic_profile: micro-batch size must be >= 1, got ",
                  micro_batch_size);
  AUGUR_ARG_CHECK(device.flops_per_s > 0 && device.memory_bytes_per_s > 0,
                  "analytic_profile: device rates must be positive");
  Profile p;
  p.model = model.name;
  p.image_size = model.options.image_size;
  p.micro_batch_size = micro_batch_size;
  p.device = "analytic";
  for (const auto& u : model.units) {
    UnitProfile up;
    up.name = u.name;
    up.forward_ms = 2.0 * double(u.macs) * micro_batch_size / device.flops_per_s * 1e3;
    up.backward_ms = device.backward_factor * up.forward_ms;
    up.output_bytes = u.output_bytes_per_sample() * micro_batch_size;
    up.param_count = u.parameter_count();
    p.units.push_back(up);
  }
  return p;
}

std::vector<int> even_balance(const std::vector<double>& unit_costs, int stages) {
  const int n = static_cast<int>(unit_costs.size());
  AUGUR_ARG_CHECK(stages >= 1 && stages <= n, "even_balance: cannot split ", n, " units into ",
                  stages, " stages");
  std::vector<double> prefix(static_cast<size_t>(n) + 1, 0.0);
  for (int u = 0; u < n; ++u) prefix[size_t(u) + 1] = prefix[size_t(u)] + unit_costs[size_t(u)];
  std::vector<int> counts;
  int begin = 0;
  for (int j = 1; j < stages; ++j) {
    const double target = prefix[size_t(n)] * j / stages;
    // The boundary leaves room for one unit in each later stage.
    int best = begin + 1;
    for (int b = begin + 1; b <= n - (stages - j); ++b)
      if (std::abs(prefix[size_t(b)] - target) < std::abs(prefix[size_t(best)] - target)) best = b;
    counts.push_back(best - begin);
    begin = best;
  }
  counts.push_back(n - begin);
  return counts;
}

std::vector<int> parse_balance(const std::string& text) {
  std::vector<int> counts;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    AUGUR_ARG_CHECK(used == item.size() && !item.empty() && v >= 1, "balance '", text, "': '", item,
                    "' is not a positive unit count (expected e.g. 3,4,4,2)");
    counts.push_back(v);
  }
  AUGUR_ARG_CHECK(!counts.empty() && text.back() != ',', "balance '", text,
                  "': expected unit counts separated by commas, e.g. 3,4,4,2");
  return counts;
}

std::vector<StageCost> stage_costs(const Profile& profile, const std::vector<int>& balance,
                                   const AnalyticDevice& device, double scale) {
  const int n = static_cast<int>(profile.units.size());
  const int total = std::accumulate(balance.begin(), balance.end(), 0);
  AUGUR_ARG_CHECK(!balance.empty() && total == n, "balance covers ", total,
                  " units, the profile has ", n);
  std::vector<StageCost> stages;
  int u = 0;
  for (size_t r = 0; r < balance.size(); ++r) {
    AUGUR_ARG_CHECK(balance[r] >= 1, "balance: stage ", r, " has ", balance[r], " units");
    StageCost c;
    int64_t params = 0;
    for (int k = 0; k < balance[r]; ++k, ++u) {
      const UnitProfile& up = profile.units[size_t(u)];
      c.forward_us += up.forward_ms * 1e3 * scale;
      c.backward_us += up.backward_ms * 1e3 * scale;
      params += up.param_count;
    }
    c.step_us = double(params) * kStepBytesPerParameter / device.memory_bytes_per_s * 1e6;
    if (r + 1 < balance.size())
      c.activation_bytes = double(profile.units[size_t(u) - 1].output_bytes) * scale;
    if (r > 0) c.gradient_bytes = stages.back().activation_bytes;
    stages.push_back(c);
  }
  return stages;
}

}  // namespace augur
