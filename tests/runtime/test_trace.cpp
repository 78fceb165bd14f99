#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "runtime/trace.h"

using augur::TraceScope;
using augur::TraceWriter;

TEST_CASE("the trace writer produces Chrome trace JSON that parses back", "[runtime]") {
  TraceWriter w;
  w.set_process_name(0, "cuda:0");
  w.set_thread_name(0, 2, "stage 2");
  {
    TraceScope s(&w, "2F0", "forward", 0, 2);
    s.args()["micro_batch"] = 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  { TraceScope s(&w, "2B0", "backward", 0, 2); }
  CHECK(w.size() == 2);

  const std::string path = "test_trace_output.json";
  w.write(path);
  std::ifstream in(path);
  REQUIRE(in);
  const nlohmann::json j = nlohmann::json::parse(in);
  std::remove(path.c_str());

  REQUIRE(j.contains("traceEvents"));
  const auto& events = j["traceEvents"];
  REQUIRE(events.size() == 4);
  CHECK(events[0]["ph"] == "M");
  CHECK(events[0]["name"] == "process_name");
  CHECK(events[0]["args"]["name"] == "cuda:0");
  CHECK(events[1]["name"] == "thread_name");
  CHECK(events[1]["tid"] == 2);
  const auto& f = events[2];
  CHECK(f["ph"] == "X");
  CHECK(f["name"] == "2F0");
  CHECK(f["cat"] == "forward");
  CHECK(f["pid"] == 0);
  CHECK(f["tid"] == 2);
  CHECK(f["args"]["micro_batch"] == 0);
  CHECK(f["dur"].get<double>() >= 2000.0);
  CHECK(events[3]["ts"].get<double>() >= f["ts"].get<double>() + f["dur"].get<double>());
}

TEST_CASE("a trace that cannot be written is a clear error", "[runtime]") {
  TraceWriter w;
  CHECK_THROWS_WITH(w.write("/nonexistent-dir/trace.json"),
                    Catch::Contains("/nonexistent-dir/trace.json"));
}

TEST_CASE("a scope without a writer only emits NVTX ranges", "[runtime]") {
  CHECK_NOTHROW(TraceScope(nullptr, "region", "cat", 0, 0));
}

TEST_CASE("trace arrows, a common origin, and traces merged from several processes", "[runtime]") {
  const uint64_t id = augur::trace_flow_id("0/0/0>1/activation 3");
  CHECK(id == augur::trace_flow_id("0/0/0>1/activation 3"));  // the same in every process
  CHECK(id != augur::trace_flow_id("0/0/0>1/activation 4"));
  CHECK(id < (uint64_t(1) << 52));  // exact as a JSON double

  TraceWriter a, b;
  a.add({"0F3", "forward", 0, 0, 100, 10, nlohmann::json::object()});
  a.add_flow({"activation 3", id, true, false, 0, 1, 105});
  b.add_flow({"activation 3", id, false, true, 1, 1, 130});
  // Each process's times moved onto one line: here both back by 100 us.
  const nlohmann::json m = TraceWriter::merge({a.to_json(), b.to_json()}, {-100, -100});
  const auto& ev = m["traceEvents"];
  REQUIRE(ev.size() == 3);
  CHECK(ev[0]["ph"] == "X");
  CHECK(ev[0]["ts"].get<double>() == 0);
  CHECK(ev[1]["ph"] == "s");
  CHECK(ev[1]["id"].get<uint64_t>() == id);
  CHECK(ev[1]["ts"].get<double>() == 5);
  CHECK_FALSE(ev[1].contains("bp"));  // a start binds to the slice around it anyway
  CHECK(ev[2]["ph"] == "f");
  CHECK(ev[2]["pid"] == 1);
  CHECK(ev[2]["bp"] == "e");  // to the receive's slice, not the next one
  CHECK(ev[2]["ts"].get<double>() == 30);
}
