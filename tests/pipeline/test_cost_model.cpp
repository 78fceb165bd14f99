#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "models/resnet_spec.h"
#include "pipeline/cost_model.h"
#include "pipeline/profile.h"
#include "runtime/error.h"

using namespace augur;

namespace {

Profile four_units() {
  Profile p;
  p.model = "toy";
  p.micro_batch_size = 8;
  p.device = "hand";
  p.units = {{"a", 1.0, 2.0, 1000, 10},
             {"b", 0.5, 1.0, 400, 20},
             {"c", 0.25, 0.5, 100, 30},
             {"d", 2.0, 4.0, 40, 1000000}};
  return p;
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
  const auto st = stage_costs(four_units(), {1, 3}, dev);
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

  const auto half = stage_costs(four_units(), {2, 2}, dev, 0.5);
  CHECK(half[0].forward_us == Approx(750));
  CHECK(half[0].activation_bytes == 200);
  CHECK(half[1].gradient_bytes == 200);

  CHECK_THROWS_WITH(stage_costs(four_units(), {1, 2}, dev), Catch::Contains("covers 3 units"));
}

TEST_CASE("even balance: contiguous, nearest to equal shares", "[pipeline]") {
  CHECK(even_balance({1, 1, 1, 1}, 2) == std::vector<int>{2, 2});
  CHECK(even_balance({1, 1, 1, 1}, 4) == std::vector<int>{1, 1, 1, 1});
  CHECK(even_balance({4, 1, 1, 1, 1}, 2) == std::vector<int>{1, 4});
  CHECK(even_balance({1, 1, 1, 1, 1, 1, 1, 10}, 2) == std::vector<int>{7, 1});
  CHECK(even_balance({10, 1, 1, 1}, 3) == std::vector<int>{1, 1, 2});
  CHECK(even_balance({5}, 1) == std::vector<int>{1});
  CHECK_THROWS_WITH(even_balance({1, 1}, 3), Catch::Contains("cannot split 2 units into 3"));
}

TEST_CASE("balance text", "[pipeline]") {
  CHECK(parse_balance("3,4,4,2") == std::vector<int>{3, 4, 4, 2});
  CHECK(parse_balance("18") == std::vector<int>{18});
  for (const char* bad : {"", "3,", ",3", "3,,4", "3,x", "0,2", "-1,2", "2.5"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_balance(bad), Error);
  }
}

TEST_CASE("analytic profile of resnet50", "[pipeline]") {
  const ModelSpec m = resnet_spec("resnet50");
  AnalyticDevice dev;
  dev.flops_per_s = 1e12;
  const Profile p = analytic_profile(m, 4, dev);
  REQUIRE(p.units.size() == m.units.size());
  CHECK(p.units.size() == 18);  // stem, 16 bottlenecks, head
  CHECK(p.units.front().name == "stem");
  // Stem: a 7x7 stride-2 convolution, 3 -> 64 channels, to 112x112: 118,013,952 MACs per
  // sample; 4 samples at 1 TFLOP/s take 2 x 118013952 x 4 / 1e12 s = 0.944111616 ms.
  CHECK(m.units.front().macs == 118013952);
  CHECK(p.units.front().forward_ms == Approx(0.944111616));
  CHECK(p.units.front().backward_ms == Approx(2 * 0.944111616));
  // After the max-pool: 56 x 56 x 64 f32 per sample.
  CHECK(p.units.front().output_bytes == 56 * 56 * 64 * 4 * 4);
  CHECK(p.units.front().param_count == 64 * 3 * 7 * 7 + 2 * 64);
  CHECK(p.units.back().output_bytes == 1000 * 4 * 4);
}

TEST_CASE("profiles save and load", "[pipeline]") {
  const Profile p = four_units();
  const std::string path = "test_pipeline_profile.json";
  save_profile(p, path);
  const Profile q = load_profile(path);
  std::remove(path.c_str());
  CHECK(q.model == "toy");
  CHECK(q.device == "hand");
  CHECK(q.micro_batch_size == 8);
  REQUIRE(q.units.size() == 4);
  CHECK(q.units[1].name == "b");
  CHECK(q.units[1].forward_ms == 0.5);
  CHECK(q.units[1].backward_ms == 1.0);
  CHECK(q.units[3].output_bytes == 40);
  CHECK(q.units[3].param_count == 1000000);
  CHECK(profile_to_json(q) == profile_to_json(p));
}

TEST_CASE("malformed profiles are rejected naming the field", "[pipeline]") {
  nlohmann::json j = profile_to_json(four_units());
  CHECK_NOTHROW(profile_from_json(j));
  auto broken = j;
  broken["format"] = "something-else";
  CHECK_THROWS_WITH(profile_from_json(broken), Catch::Contains("something-else"));
  broken = j;
  broken["version"] = 2;
  CHECK_THROWS_WITH(profile_from_json(broken), Catch::Contains("version 2"));
  broken = j;
  broken["units"][1].erase("backward_ms");
  CHECK_THROWS_WITH(profile_from_json(broken),
                    Catch::Contains("unit 1 ('b')") && Catch::Contains("backward_ms"));
  broken = j;
  broken["units"][2]["forward_ms"] = "fast";
  CHECK_THROWS_WITH(profile_from_json(broken), Catch::Contains("wrong type"));
  broken = j;
  broken["units"][0]["forward_ms"] = -1.0;
  CHECK_THROWS_WITH(profile_from_json(broken), Catch::Contains("negative"));
  broken = j;
  broken["units"] = nlohmann::json::array();
  CHECK_THROWS_WITH(profile_from_json(broken), Catch::Contains("no units"));
  CHECK_THROWS_AS(load_profile("no/such/profile.json"), Error);
}
