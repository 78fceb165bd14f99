#include "runtime/trace.h"

#include <nvtx3/nvToolsExt.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "runtime/error.h"

namespace augur {

double TraceWriter::now_us() {
  using clock = std::chrono::steady_clock;
  static const clock::time_point origin = clock::now();
  return std::chrono::duration<double, std::micro>(clock::now() - origin).count();
}

void TraceWriter::set_process_name(int pid, const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  metadata_.push_back({{"name", "process_name"},
                       {"ph", "M"},
                       {"pid", pid},
                       {"tid", 0},
                       {"args", {{"name", name}}}});
}

void TraceWriter::set_thread_name(int pid, int tid, const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  metadata_.push_back({{"name", "thread_name"},
                       {"ph", "M"},
                       {"pid", pid},
                       {"tid", tid},
                       {"args", {{"name", name}}}});
}

void TraceWriter::add(TraceEvent event) {
  std::lock_guard<std::mutex> lock(mutex_);
  events_.push_back(std::move(event));
}

size_t TraceWriter::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return events_.size();
}

nlohmann::json TraceWriter::to_json() const {
  std::lock_guard<std::mutex> lock(mutex_);
  nlohmann::json events = nlohmann::json::array();
  for (const auto& m : metadata_) events.push_back(m);
  for (const auto& e : events_) {
    events.push_back({{"name", e.name},
                      {"cat", e.category},
                      {"ph", "X"},
                      {"pid", e.pid},
                      {"tid", e.tid},
                      {"ts", e.start_us},
                      {"dur", e.duration_us},
                      {"args", e.args}});
  }
  return {{"traceEvents", events}, {"displayTimeUnit", "ms"}};
}

void TraceWriter::write(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot open trace file '" + tmp + "' for writing");
    out << to_json().dump();
    out.flush();
    if (!out) throw Error("failed writing trace file '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error("cannot rename '" + tmp + "' to '" + path + "'");
  }
}

TraceScope::TraceScope(TraceWriter* writer, std::string name, std::string category, int pid,
                       int tid)
    : writer_(writer) {
  event_.name = std::move(name);
  event_.category = std::move(category);
  event_.pid = pid;
  event_.tid = tid;
  nvtxRangePushA(event_.name.c_str());
  event_.start_us = TraceWriter::now_us();
}

TraceScope::~TraceScope() {
  event_.duration_us = TraceWriter::now_us() - event_.start_us;
  nvtxRangePop();
  if (writer_) {
    try {
      writer_->add(std::move(event_));
    } catch (...) {
      // Tracing must never take down the work it observes.
    }
  }
}

}  // namespace augur
