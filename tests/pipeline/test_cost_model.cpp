#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "models/resnet_spec.h"
#include "pipeline/cost_model.h"
#include "runtime/error.h"

using namespace augur;

namespace {

// Times for micro-batches of 8; output bytes per sample (x 8 per micro-batch).
std::vector<UnitCost> four_units() {
  auto unit = [](const char* name, double f, double b, int64_t out_bytes, int64_t params) {
    UnitCost u;
    u.name = name;
    u.forward_ms = f;
    u.backward_ms = b;
    u.activation_bytes_per_sample = out_bytes / 8;
    u.param_count = params;
    return u;
  };
  return {unit("a", 1.0, 2.0, 1000, 10), unit("b", 0.5, 1.0, 400, 20),
          unit("c", 0.25, 0.5, 100, 30), unit("d", 2.0, 4.0, 40, 1000000)};
}

}  // namespace

TEST_CASE("the link model: latency plus bytes over bandwidth", "[pipeline]") {
  const LinkModel l = LinkModel::from_gbps(100, 5);  // 100 Gbit/s = 12500 bytes/us
  CHECK(l.bytes_per_us == Approx(12500));
  CHECK(l.transfer_us(25000) == Approx(5 + 2));
  CHECK(LinkModel{}.transfer_us(1e9) == 0);
  CHECK(LinkModel{3, 0}.transfer_us(1e9) == 3);
  CHECK_THROWS_AS(LinkModel::from_gbps(-1), Error);
}

TEST_CASE("uniform costs: no message leaves the ends of the pipeline", "[pipeline]") {
  const CostModel c = uniform_costs(3, 1, 2, 0.5, 64);
  REQUIRE(c.stages.size() == 3);
  CHECK(c.stages[0].gradient_bytes == 0);
  CHECK(c.stages[0].activation_bytes == 64);
  CHECK(c.stages[1].gradient_bytes == 64);
  CHECK(c.stages[2].activation_bytes == 0);
  CHECK(c.stages[2].backward_us == 2);
}

TEST_CASE("stage costs sum each stage's units", "[pipeline]") {
  AnalyticDevice dev;
  dev.memory_bytes_per_s = 28e6;  // a step of n parameters then takes n microseconds
  const auto st = stage_costs(four_units(), 8, {1, 3}, dev);
  REQUIRE(st.size() == 2);
  CHECK(st[0].forward_us == Approx(1000));
  CHECK(st[0].backward_us == Approx(2000));
  CHECK(st[0].step_us == Approx(10));
  CHECK(st[0].activation_bytes == 1000);
  CHECK(st[0].gradient_bytes == 0);
  CHECK(st[1].forward_us == Approx(2750));
  CHECK(st[1].backward_us == Approx(5500));
  CHECK(st[1].step_us == Approx(1000050));
  CHECK(st[1].activation_bytes == 0);
  CHECK(st[1].gradient_bytes == 1000);

  const auto half = stage_costs(four_units(), 8, {2, 2}, dev, 0.5);
  CHECK(half[0].forward_us == Approx(750));
  CHECK(half[0].activation_bytes == 200);
  CHECK(half[1].gradient_bytes == 200);

  CHECK_THROWS_WITH(stage_costs(four_units(), 8, {1, 2}, dev), Catch::Contains("covers 3 units"));
}
