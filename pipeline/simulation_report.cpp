#include "pipeline/simulation_report.h"

#include <cstdio>
#include <sstream>

namespace augur {

namespace {

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string pad(const std::string& s, size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

}  // namespace

std::string format_simulation_report(const Schedule& schedule, const SimulationResult& result,
                                     size_t grid_limit) {
  std::ostringstream out;
  if (result.deadlocked) {
    out << result.deadlock.message << "\n" << result.deadlock.grid;
    return out.str();
  }
  const double k = schedule.stages, m = schedule.micro_batches;
  out << "makespan          " << fixed(result.makespan_us / 1e3, 3) << " ms\n";
  out << "bubble fraction   " << fixed(result.bubble_fraction, 4)
      << "   (fill-drain, equal stages, free links: (K-1)/(M+K-1) = "
      << fixed((k - 1) / (m + k - 1), 4) << ")\n\n";
  out << "stage   busy ms  util  finish ms  in-flight  versions  steps  staleness min/mean/max\n";
  for (size_t r = 0; r < result.stages.size(); ++r) {
    const StageReport& st = result.stages[r];
    out << pad(std::to_string(r), 5) << pad(fixed(st.busy_us / 1e3, 3), 10)
        << pad(fixed(st.utilisation, 3), 6) << pad(fixed(st.finish_us / 1e3, 3), 11)
        << pad(std::to_string(st.peak_in_flight), 11) << pad(std::to_string(st.stash_versions), 10)
        << pad(std::to_string(st.steps), 7) << "  " << st.staleness_min << " / "
        << fixed(st.staleness_mean, 2) << " / " << st.staleness_max << "\n";
  }
  const size_t cells = size_t(schedule.stages) * size_t(schedule.micro_batches);
  if (cells <= grid_limit) {
    out << "\nrealised staleness s = b - a (rows: stages, columns: micro-batches 0.."
        << schedule.micro_batches - 1 << ")\n";
    for (size_t r = 0; r < result.staleness.size(); ++r) {
      out << pad(std::to_string(r), 5) << ":";
      for (int v : result.staleness[r]) out << ' ' << v;
      out << "\n";
    }
  }
  return out.str();
}

}  // namespace augur
