// Tracing: complete events ("ph":"X") in the Chrome trace JSON format, which Perfetto and
// chrome://tracing open, plus NVTX ranges around the same regions so Nsight Systems shows
// them too. A track is a (pid, tid) pair: the engine uses pid = device, tid = stream or
// worker thread, and names both with metadata events.
#pragma once

#include <nlohmann/json.hpp>

#include <mutex>
#include <string>
#include <vector>

namespace augur {

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
  size_t size() const;

  // {"traceEvents": [...], "displayTimeUnit": "ms"}
  nlohmann::json to_json() const;
  // Written to a temporary file then renamed, so a reader never sees half a trace.
  void write(const std::string& path) const;

  // Microseconds on a monotonic clock shared by every writer in the process.
  static double now_us();

 private:
  mutable std::mutex mutex_;
  std::vector<TraceEvent> events_;
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
