#include "runtime/trace.h"

#include <nvtx3/nvToolsExt.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "runtime/error.h"
#include "runtime/output_file.h"

namespace augur {

namespace {
using TraceClock = std::chrono::steady_clock;  // CLOCK_MONOTONIC on Linux: one per machine
const TraceClock::time_point& trace_origin() {
  static const TraceClock::time_point origin = TraceClock::now();
  return origin;
}
}  // namespace

double TraceWriter::now_us() {
  return std::chrono::duration<double, std::micro>(TraceClock::now() - trace_origin()).count();
}

double TraceWriter::clock_origin_us() {
  return std::chrono::duration<double, std::micro>(trace_origin().time_since_epoch()).count();
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

uint64_t trace_flow_id(const std::string& message) {
  // FNV-1a, kept to 52 bits so that JSON readers holding numbers as doubles see it exactly.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : message) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h & ((uint64_t(1) << 52) - 1);
}

void TraceWriter::add(TraceEvent event) {
  std::lock_guard<std::mutex> lock(mutex_);
  events_.push_back(std::move(event));
}

void TraceWriter::add_flow(TraceFlow flow) {
  std::lock_guard<std::mutex> lock(mutex_);
  flows_.push_back(std::move(flow));
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
  for (const auto& f : flows_) {
    nlohmann::json j = {{"name", f.name}, {"cat", "message"}, {"ph", f.start ? "s" : "f"},
                        {"id", f.id},     {"pid", f.pid},     {"tid", f.tid},
                        {"ts", f.ts_us}};
    if (!f.start && f.enclosing) j["bp"] = "e";
    events.push_back(std::move(j));
  }
  return {{"traceEvents", events}, {"displayTimeUnit", "ms"}};
}

nlohmann::json TraceWriter::merge(const std::vector<nlohmann::json>& traces,
                                  const std::vector<double>& shifts_us) {
  nlohmann::json events = nlohmann::json::array();
  for (size_t i = 0; i < traces.size(); ++i) {
    const double shift = i < shifts_us.size() ? shifts_us[i] : 0.0;
    for (nlohmann::json e : traces[i].at("traceEvents")) {
      if (e.contains("ts")) e["ts"] = e["ts"].get<double>() + shift;
      events.push_back(std::move(e));
    }
  }
  return {{"traceEvents", events}, {"displayTimeUnit", "ms"}};
}

void TraceWriter::write(const std::string& path) const {
  write(to_json(), path);
}

void TraceWriter::write(const nlohmann::json& trace, const std::string& path) {
  write_file_atomically(path, trace.dump());
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
