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
