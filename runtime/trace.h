// Tracing: complete events ("ph":"X") in the Chrome trace JSON format, which Perfetto and
// chrome://tracing open, plus NVTX ranges around the same regions so Nsight Systems shows
// them too. A track is a (pid, tid) pair, named with metadata events: the engine and the
// simulator use pid = stage (with replicas: stage x R + replica, the rank), tid 0 for compute
// and 1 for communication. Flow events (an arrow from a send to its receive) pair a start and
// a finish by id.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace augur {

// The tracks of a stage (its pid): its computation and its communication.
constexpr int kTraceComputeTid = 0;
constexpr int kTraceCommTid = 1;

// One end of an arrow: the start binds to the slice around it on its track; the finish to
// the slice around it when `enclosing`, else to the next slice that begins on its track.
struct TraceFlow {
  std::string name;
  uint64_t id = 0;  // the same for both ends, unique in the trace (trace_flow_id)
  bool start = true;
  bool enclosing = false;
  int pid = 0;
  int tid = 0;
  double ts_us = 0;
};

// A flow id from a message's description: the same text gives the same id in every process.
uint64_t trace_flow_id(const std::string& message);

struct TraceEvent {
  std::string name;
  std::string category;
  int pid = 0;
  int tid = 0;
  double start_us = 0;
  double duration_us = 0;
  nlohmann::json args = nlohmann::json::object();
};

class TraceWriter {
 public:
  void set_process_name(int pid, const std::string& name);
  void set_thread_name(int pid, int tid, const std::string& name);
  void add(TraceEvent event);
  void add_flow(TraceFlow flow);
  size_t size() const;

  // {"traceEvents": [...], "displayTimeUnit": "ms"}
  nlohmann::json to_json() const;
  // One trace of several (each from to_json): their events side by side, trace i's times
  // moved by shifts_us[i] (none given: 0) onto one time line.
  static nlohmann::json merge(const std::vector<nlohmann::json>& traces,
                              const std::vector<double>& shifts_us = {});
  // Written to a temporary file then renamed, so a reader never sees half a trace.
  void write(const std::string& path) const;
  static void write(const nlohmann::json& trace, const std::string& path);

  // Microseconds on a monotonic clock shared by every writer in the process.
  static double now_us();
  // Where now_us() counts from, in microseconds of the system's monotonic clock (the same
  // clock in every process of one machine, so their traces can be put on one time line).
  static double clock_origin_us();

 private:
  mutable std::mutex mutex_;
  std::vector<TraceEvent> events_;
  std::vector<TraceFlow> flows_;
  std::vector<nlohmann::json> metadata_;
};

// Times a region: an NVTX range while it lives and, when `writer` is not null, one complete
// event when it ends. Arguments can be attached before it ends.
class TraceScope {
 public:
  TraceScope(TraceWriter* writer, std::string name, std::string category, int pid, int tid);
  ~TraceScope();
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;
  nlohmann::json& args() { return event_.args; }

 private:
  TraceWriter* writer_;
  TraceEvent event_;
};

}  // namespace augur
