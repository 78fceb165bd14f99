#include "pipeline/partitioner.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <sstream>

#include "runtime/error.h"

namespace augur {

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

bool unlimited(const MemoryModel& m) {
  return m.device_bytes <= 0;
}

int per_stage(const std::vector<int>& values, int stage, int fallback, const char* what) {
  if (values.empty()) return fallback;
  AUGUR_ARG_CHECK(stage >= 0 && size_t(stage) < values.size(), what, " has ", values.size(),
                  " entries, no entry for stage ", stage);
  return values[size_t(stage)];
}

void check_memory_model(const MemoryModel& m, int stages) {
  AUGUR_ARG_CHECK(m.weight_versions >= 1, "memory model: weight_versions must be at least 1, got ",
                  m.weight_versions);
  AUGUR_ARG_CHECK(m.optimizer_state_copies >= 0,
                  "memory model: optimizer_state_copies must be >= 0, got ",
                  m.optimizer_state_copies);
  AUGUR_ARG_CHECK(m.micro_batch_size >= 1,
                  "memory model: micro_batch_size must be at least 1, got ", m.micro_batch_size);
  AUGUR_ARG_CHECK(m.in_flight_per_stage.empty() || m.in_flight_per_stage.size() == size_t(stages),
                  "memory model: in_flight_per_stage has ", m.in_flight_per_stage.size(),
                  " entries for ", stages, " stages");
  AUGUR_ARG_CHECK(
      m.weight_versions_per_stage.empty() || m.weight_versions_per_stage.size() == size_t(stages),
      "memory model: weight_versions_per_stage has ", m.weight_versions_per_stage.size(),
      " entries for ", stages, " stages");
}

std::string unit_range_str(const std::vector<UnitCost>& units, size_t first, size_t end) {
  if (end == first + 1) return "unit '" + units[first].name + "'";
  return "units '" + units[first].name + "'..'" + units[end - 1].name + "'";
}

std::string bytes_str(int64_t bytes) {
  std::ostringstream os;
  os << bytes << " bytes";
  os.setf(std::ios::fixed);
  os.precision(2);
  if (bytes >= (int64_t(1) << 30))
    os << " (" << double(bytes) / double(int64_t(1) << 30) << " GiB)";
  else if (bytes >= (int64_t(1) << 20))
    os << " (" << double(bytes) / double(int64_t(1) << 20) << " MiB)";
  return os.str();
}

// A split into `stages` contiguous non-empty ranges of `n` units that is best under
// `combine` (max or +) of cost(stage, first, end); empty when every split has an infinite
// (not allowed) stage.
//
// Why this is optimal: let best[k][i] be the best combined cost of stages k..K-1 over units
// [i, n). A split of [i, n) is a first range [i, j) on stage k and a split of [j, n) over
// stages k+1..K-1, costing combine(cost(k, i, j), cost of the rest). The rest can be any
// split of [j, n), and both max and + are non-decreasing in their second argument, so
// replacing the rest by an optimal one never makes it worse:
//   best[k][i] = min over j of combine(cost(k, i, j), best[k+1][j]),  best[K][n] = 0,
// which enumerates every first range, hence every split. Costs may depend on the stage
// index (in-flight micro-batches and weight versions differ), which the recurrence carries.
// A candidate replaces the current one only when smaller by more than rounding, and j runs
// upwards, so among equal splits the earliest stages get the fewest units. O(K n^2) costs.
std::vector<int> best_split(size_t n, int stages,
                            const std::function<double(int, size_t, size_t)>& cost,
                            const std::function<double(double, double)>& combine) {
  const size_t k_count = size_t(stages);
  std::vector<std::vector<double>> best(k_count + 1, std::vector<double>(n + 1, kInfinity));
  std::vector<std::vector<size_t>> cut(k_count + 1, std::vector<size_t>(n + 1, n));
  best[k_count][n] = 0;
  for (size_t k = k_count; k-- > 0;) {
    const size_t stages_after = k_count - 1 - k;
    // Stage k starts at i >= k (each earlier stage has a unit) and leaves a unit per later
    // stage; stage 0 starts at unit 0.
    const size_t last_start = k == 0 ? 0 : n - 1 - stages_after;
    for (size_t i = k; i <= last_start; ++i) {
      for (size_t j = i + 1; j + stages_after <= n; ++j) {
        if (best[k + 1][j] == kInfinity) continue;
        const double c = combine(cost(int(k), i, j), best[k + 1][j]);
        if (c == kInfinity) continue;
        const double current = best[k][i];
        if (current == kInfinity || c < current - 1e-12 * std::max(1.0, std::fabs(current))) {
          best[k][i] = c;
          cut[k][i] = j;
        }
      }
    }
  }
  if (best[0][0] == kInfinity) return {};
  std::vector<int> balance;
  size_t i = 0;
  for (size_t k = 0; k < k_count; ++k) {
    const size_t j = cut[k][i];
    balance.push_back(int(j - i));
    i = j;
  }
  return balance;
}

double max_of(double a, double b) {
  return std::max(a, b);
}
double sum_of(double a, double b) {
  return a + b;
}

void check_balance(const std::vector<int>& balance, size_t units) {
  AUGUR_ARG_CHECK(!balance.empty(), "a partition needs at least one stage");
  int64_t sum = 0;
  for (size_t k = 0; k < balance.size(); ++k) {
    AUGUR_ARG_CHECK(balance[k] > 0, "partition ", balance_str(balance), ": stage ", k, " has ",
                    balance[k], " units; every stage needs at least one");
    sum += balance[k];
  }
  AUGUR_ARG_CHECK(sum == int64_t(units), "partition ", balance_str(balance), " covers ", sum,
                  " units but the model has ", units);
}

}  // namespace

MemoryModel memory_model_for(const ExecutionPlan& plan, MemoryModel base) {
  base.in_flight_per_stage.clear();
  base.weight_versions_per_stage.clear();
  for (const StageExecution& st : plan.stage) {
    base.in_flight_per_stage.push_back(st.peak_in_flight);
    base.weight_versions_per_stage.push_back(1 + (st.predicted_buffer ? 1 : 0) + st.peak_stashes);
  }
  return base;
}

double stage_time_ms(const std::vector<UnitCost>& units, size_t first, size_t end) {
  AUGUR_ARG_CHECK(first < end && end <= units.size(), "stage_time_ms: invalid unit range [", first,
                  ", ", end, ") of ", units.size(), " units");
  double t = 0;
  for (size_t u = first; u < end; ++u) t += units[u].time_ms();
  return t;
}

int64_t stage_memory_bytes(const std::vector<UnitCost>& units, size_t first, size_t end, int stage,
                           const MemoryModel& memory) {
  AUGUR_ARG_CHECK(first < end && end <= units.size(), "stage_memory_bytes: invalid unit range [",
                  first, ", ", end, ") of ", units.size(), " units");
  const int versions = per_stage(memory.weight_versions_per_stage, stage, memory.weight_versions,
                                 "memory model: weight_versions_per_stage");
  const int in_flight =
      per_stage(memory.in_flight_per_stage, stage, 1, "memory model: in_flight_per_stage");
  int64_t params = 0, activations = units[first].input_bytes_per_sample;
  for (size_t u = first; u < end; ++u) {
    params += units[u].param_count;
    activations += units[u].saved_bytes_per_sample;
  }
  const int64_t copies = 2 + memory.optimizer_state_copies + (versions - 1);
  return params * memory.bytes_per_element * copies +
         int64_t(in_flight) * memory.micro_batch_size * activations;
}

std::vector<int> partition(const std::vector<UnitCost>& units, int stages,
                           const MemoryModel& memory) {
  const size_t n = units.size();
  AUGUR_ARG_CHECK(stages >= 1, "partition: need at least one stage, got ", stages);
  AUGUR_ARG_CHECK(size_t(stages) <= n, "cannot split ", n, " units over ", stages,
                  " stages: every stage needs at least one unit");
  check_memory_model(memory, stages);
  for (const UnitCost& u : units) {
    AUGUR_ARG_CHECK(std::isfinite(u.time_ms()) && u.forward_ms >= 0 && u.backward_ms >= 0, "unit '",
                    u.name, "' has invalid times: forward ", u.forward_ms, " ms, backward ",
                    u.backward_ms, " ms");
  }
  const int64_t limit = memory.device_bytes;
  auto fits = [&](int k, size_t i, size_t j) {
    return unlimited(memory) || stage_memory_bytes(units, i, j, k, memory) <= limit;
  };

  // A unit that fits on none of the stages it could sit on, even alone, rules out any split.
  for (size_t u = 0; u < n && !unlimited(memory); ++u) {
    const int lo = std::max(0, stages - int(n - u)), hi = std::min(int(u), stages - 1);
    int64_t least = std::numeric_limits<int64_t>::max();
    int where = lo;
    for (int k = lo; k <= hi; ++k) {
      const int64_t b = stage_memory_bytes(units, u, u + 1, k, memory);
      if (b < least) least = b, where = k;
    }
    if (least > limit)
      AUGUR_THROW("unit '", units[u].name,
                  "' does not fit on any device by itself: alone on stage ", where, " it needs ",
                  bytes_str(least), " but a device has ", bytes_str(limit));
  }

  // The least bottleneck time over splits that fit, then, among splits that reach it, the
  // one with the least sum of squared stage times: the most even, so the other stages
  // idle least and an error in one unit's estimate moves the bottleneck least.
  const std::vector<int> fastest = best_split(
      n, stages,
      [&](int k, size_t i, size_t j) {
        return fits(k, i, j) ? stage_time_ms(units, i, j) : kInfinity;
      },
      max_of);
  if (!fastest.empty()) {
    double bottleneck = 0;
    for (const auto& [first, end] : stage_ranges(fastest))
      bottleneck = std::max(bottleneck, stage_time_ms(units, first, end));
    const double allowed = bottleneck * (1 + 1e-12);
    const std::vector<int> even = best_split(
        n, stages,
        [&](int k, size_t i, size_t j) {
          const double t = stage_time_ms(units, i, j);
          return t <= allowed && fits(k, i, j) ? t * t : kInfinity;
        },
        sum_of);
    return even.empty() ? fastest : even;
  }

  // No split fits: report the one that needs the least memory and where it overflows.
  const std::vector<int> leanest = best_split(
      n, stages,
      [&](int k, size_t i, size_t j) { return double(stage_memory_bytes(units, i, j, k, memory)); },
      max_of);
  const std::vector<StagePlan> plans = evaluate_partition(units, leanest, memory);
  size_t worst = 0;
  for (size_t k = 1; k < plans.size(); ++k)
    if (plans[k].memory_bytes > plans[worst].memory_bytes) worst = k;
  AUGUR_THROW("no split of ", n, " units over ", stages, " stages fits in ", bytes_str(limit),
              " per device: the least memory-hungry split, ", balance_str(leanest), ", needs ",
              bytes_str(plans[worst].memory_bytes), " on stage ", worst, " (",
              unit_range_str(units, plans[worst].first, plans[worst].end),
              "); use more stages, smaller micro-batches or a device with more memory");
}

std::vector<StagePlan> evaluate_partition(const std::vector<UnitCost>& units,
                                          const std::vector<int>& balance,
                                          const MemoryModel& memory) {
  check_balance(balance, units.size());
  check_memory_model(memory, int(balance.size()));
  std::vector<StagePlan> plans;
  int k = 0;
  for (const auto& [first, end] : stage_ranges(balance)) {
    plans.push_back({first, end, stage_time_ms(units, first, end),
                     stage_memory_bytes(units, first, end, k++, memory)});
  }
  return plans;
}

void require_fits(const std::vector<UnitCost>& units, const std::vector<int>& balance,
                  const MemoryModel& memory) {
  const std::vector<StagePlan> plans = evaluate_partition(units, balance, memory);
  if (unlimited(memory)) return;
  for (size_t k = 0; k < plans.size(); ++k) {
    if (plans[k].memory_bytes > memory.device_bytes)
      AUGUR_THROW("partition ", balance_str(balance), ": stage ", k, " (",
                  unit_range_str(units, plans[k].first, plans[k].end), ") needs ",
                  bytes_str(plans[k].memory_bytes), " but a device has ",
                  bytes_str(memory.device_bytes));
  }
}

std::vector<std::pair<size_t, size_t>> stage_ranges(const std::vector<int>& balance) {
  std::vector<std::pair<size_t, size_t>> ranges;
  size_t first = 0;
  for (size_t k = 0; k < balance.size(); ++k) {
    AUGUR_ARG_CHECK(balance[k] > 0, "partition ", balance_str(balance), ": stage ", k, " has ",
                    balance[k], " units; every stage needs at least one");
    ranges.emplace_back(first, first + size_t(balance[k]));
    first += size_t(balance[k]);
  }
  return ranges;
}

std::string balance_str(const std::vector<int>& balance) {
  std::ostringstream os;
  for (size_t k = 0; k < balance.size(); ++k) os << (k ? "," : "") << balance[k];
  return os.str();
}

std::vector<UnitCost> analytic_unit_costs(const ModelSpec& spec, int64_t micro_batch,
                                          double flops) {
  AUGUR_ARG_CHECK(micro_batch >= 1, "analytic_unit_costs: micro-batch must be at least 1, got ",
                  micro_batch);
  AUGUR_ARG_CHECK(flops > 0, "analytic_unit_costs: flops must be positive, got ", flops);
  constexpr int64_t kF32 = 4;
  std::vector<UnitCost> costs;
  for (const UnitSpec& u : spec.units) {
    UnitCost c;
    c.name = u.name;
    c.forward_ms = 2.0 * double(u.macs) * double(micro_batch) / flops * 1e3;
    c.backward_ms = 2 * c.forward_ms;
    c.param_count = u.parameter_count();
    c.input_bytes_per_sample = int64_t(u.in_size) * u.in_size * u.in_channels * kF32;
    c.activation_bytes_per_sample = u.output_bytes_per_sample();
    if (u.kind == UnitKind::Head) {
      c.saved_bytes_per_sample = (int64_t(u.in_channels) + u.out_channels) * kF32;
    } else {
      // Each conv's output and the norm output after it; the chain's convs read the previous
      // conv's output, the projection shortcut the unit's input.
      int64_t size = u.in_size;
      for (const ConvSpec& cv : u.convs) {
        const bool shortcut = cv.prefix.find(".downsample.") != std::string::npos;
        const int64_t in = shortcut ? u.in_size : size;
        const int64_t out = (in + 2 * cv.padding - cv.kernel) / cv.stride + 1;
        c.saved_bytes_per_sample += 2 * out * out * cv.out_channels * kF32;
        if (!shortcut) size = out;
      }
      // The stem's max pool keeps its output and the argmax indices (int32).
      if (u.stem_maxpool)
        c.saved_bytes_per_sample += 2 * int64_t(u.out_size) * u.out_size * u.out_channels * kF32;
    }
    costs.push_back(c);
  }
  return costs;
}

}  // namespace augur
