#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "pipeline/lowering.h"
#include "pipeline/partitioner.h"
#include "pipeline/schedule_generators.h"
#include "pipeline/unit_profiler.h"
#include "runtime/random.h"
#include "tests/support/gpu.h"

using namespace augur;
using Catch::Matchers::Contains;

namespace {

// The memory a policy needs on a schedule, from the planning pass (one source of truth).
MemoryModel planned_memory(ScheduleKind kind, int stages, int micro_batches, WeightPolicy policy) {
  PlanOptions o;
  o.policy = policy;
  o.steps_before.assign(size_t(stages), 1);
  return memory_model_for(plan_execution(lower(make_schedule(kind, stages, micro_batches)), o),
                          MemoryModel{});
}

// Units with the given forward+backward times (all in forward) and nothing else.
std::vector<UnitCost> timed(const std::vector<double>& times) {
  std::vector<UnitCost> units;
  for (size_t i = 0; i < times.size(); ++i) {
    UnitCost u;
    u.name = "u" + std::to_string(i);
    u.forward_ms = times[i];
    units.push_back(u);
  }
  return units;
}

// Every partition of n units into k non-empty stages.
void each_balance(int n, int k, std::vector<int>& prefix,
                  const std::function<void(const std::vector<int>&)>& visit) {
  if (k == 1) {
    prefix.push_back(n);
    visit(prefix);
    prefix.pop_back();
    return;
  }
  for (int first = 1; first <= n - (k - 1); ++first) {
    prefix.push_back(first);
    each_balance(n - first, k - 1, prefix, visit);
    prefix.pop_back();
  }
}

std::string temp_path(const std::string& name) {
  return std::string(P_tmpdir) + "/augur_test_" + name;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

}  // namespace

TEST_CASE("partition minimises the slowest stage on literal lists", "[pipeline]") {
  const MemoryModel unlimited;
  CHECK(partition(timed({1, 1, 1, 1, 4}), 2, unlimited) == std::vector<int>{4, 1});
  CHECK(partition(timed({4, 1, 1, 1, 1}), 2, unlimited) == std::vector<int>{1, 4});
  CHECK(partition(timed({1, 1, 1, 1, 1, 1, 1, 1}), 4, unlimited) == std::vector<int>{2, 2, 2, 2});
  CHECK(partition(timed({2, 2, 2}), 3, unlimited) == std::vector<int>{1, 1, 1});
  CHECK(partition(timed({5, 1, 1, 1}), 1, unlimited) == std::vector<int>{4});
  // {1,2,3 | 4 | 5}: 6, 4, 5 has bottleneck 6; nothing does better (5 alone leaves 1..4 = 10
  // to two stages, at best 6 and 4).
  CHECK(partition(timed({1, 2, 3, 4, 5}), 3, unlimited) == std::vector<int>{3, 1, 1});
}

TEST_CASE("among equally fast splits the earlier stages get fewer units", "[pipeline]") {
  const MemoryModel unlimited;
  CHECK(partition(timed({1, 1, 1, 1, 1}), 2, unlimited) == std::vector<int>{2, 3});
  CHECK(partition(timed({1, 1, 1, 1, 1, 1, 1}), 3, unlimited) == std::vector<int>{2, 2, 3});
  // Rounding must not break a tie: 0.1 + 0.2 and 0.3 are the same time.
  CHECK(partition(timed({0.1, 0.2, 0.3}), 2, unlimited) == std::vector<int>{2, 1});
}

TEST_CASE("stage memory counts parameter copies and in-flight activations", "[pipeline]") {
  std::vector<UnitCost> units = timed({1, 1, 1});
  units[0].param_count = 10, units[1].param_count = 20, units[2].param_count = 30;
  units[0].input_bytes_per_sample = 100, units[1].input_bytes_per_sample = 7;
  units[0].saved_bytes_per_sample = 11, units[1].saved_bytes_per_sample = 13;
  units[2].saved_bytes_per_sample = 17;
  MemoryModel m;
  m.optimizer_state_copies = 2;  // AdamW
  m.weight_versions_per_stage = {3, 1};
  m.in_flight_per_stage = {2, 1};
  m.micro_batch_size = 4;
  // Stage 0 = units 0,1: 30 params x 4 bytes x (weights + grads + 2 state + 2 more versions)
  // = 720; 2 in flight x 4 samples x (input 100 + saved 11 + 13) = 992.
  CHECK(stage_memory_bytes(units, 0, 2, 0, m) == 720 + 992);
  // Stage 1 = unit 2 alone: 30 x 4 x 4 = 480; 1 x 4 x (input 0 + 17) = 68.
  CHECK(stage_memory_bytes(units, 2, 3, 1, m) == 480 + 68);
  // Starting at unit 1 reads unit 1's input (7 bytes) instead of unit 0's.
  CHECK(stage_memory_bytes(units, 1, 3, 1, m) == 50 * 4 * 4 + 4 * (7 + 13 + 17));
  const std::vector<StagePlan> plans = evaluate_partition(units, {2, 1}, m);
  REQUIRE(plans.size() == 2);
  CHECK(plans[0].first == 0);
  CHECK(plans[0].end == 2);
  CHECK(plans[0].time_ms == 2);
  CHECK(plans[0].memory_bytes == 1712);
  CHECK(plans[1].memory_bytes == 548);
  CHECK(stage_time_ms(units, 0, 3) == 3);
}

TEST_CASE("a memory limit forces a slower split", "[pipeline]") {
  std::vector<UnitCost> units = timed({1, 1, 1, 1, 4});
  for (int i = 0; i < 4; ++i) units[size_t(i)].param_count = 100;  // 800 bytes with grads
  MemoryModel m;
  m.optimizer_state_copies = 0;
  CHECK(partition(units, 2, m) == std::vector<int>{4, 1});  // no limit: 3200 bytes on stage 0
  m.device_bytes = 2500;
  // {4,1} needs 3200 bytes; {3,2} (times 3 and 5) is the fastest split that fits.
  CHECK(partition(units, 2, m) == std::vector<int>{3, 2});
  m.device_bytes = 2400;  // exactly the 3-unit stage: the limit is inclusive
  CHECK(partition(units, 2, m) == std::vector<int>{3, 2});

  // In-flight activations: the first stage holds 3 micro-batches, the last one.
  std::vector<UnitCost> acts = timed({1, 1, 1, 1});
  for (auto& u : acts) u.saved_bytes_per_sample = 10;
  MemoryModel a;
  a.in_flight_per_stage = {3, 1};
  a.device_bytes = 30;  // stage 0 fits one unit (30 bytes), stage 1 three (30 bytes)
  CHECK(partition(acts, 2, a) == std::vector<int>{1, 3});
}

TEST_CASE("partition matches exhaustive search", "[pipeline]") {
  Random rng(42);
  for (int trial = 0; trial < 200; ++trial) {
    const int n = 2 + int(rng.below(8));
    const int k = 1 + int(rng.below(uint64_t(std::min(n, 4))));
    std::vector<UnitCost> units;
    for (int i = 0; i < n; ++i) {
      UnitCost u;
      u.name = "u" + std::to_string(i);
      u.forward_ms = double(1 + rng.below(9));
      u.backward_ms = double(rng.below(5));
      u.param_count = int64_t(rng.below(50));
      u.saved_bytes_per_sample = int64_t(rng.below(40));
      u.input_bytes_per_sample = int64_t(rng.below(20));
      units.push_back(u);
    }
    MemoryModel m;
    m.in_flight_per_stage =
        planned_memory(ScheduleKind::OneFOneB, k, 4, WeightPolicy::Latest).in_flight_per_stage;
    m.device_bytes = 200 + int64_t(rng.below(1200));
    double best = std::numeric_limits<double>::infinity();
    std::vector<int> prefix;
    each_balance(n, k, prefix, [&](const std::vector<int>& b) {
      double worst = 0;
      for (const StagePlan& p : evaluate_partition(units, b, m)) {
        if (p.memory_bytes > m.device_bytes) return;
        worst = std::max(worst, p.time_ms);
      }
      best = std::min(best, worst);
    });
    INFO("trial " << trial << ": " << n << " units, " << k << " stages, limit " << m.device_bytes);
    if (best == std::numeric_limits<double>::infinity()) {
      CHECK_THROWS(partition(units, k, m));
      continue;
    }
    const std::vector<int> b = partition(units, k, m);
    double worst = 0;
    for (const StagePlan& p : evaluate_partition(units, b, m)) {
      CHECK(p.memory_bytes <= m.device_bytes);
      worst = std::max(worst, p.time_ms);
    }
    CHECK(worst == best);
  }
}

TEST_CASE("impossible partitions are clear errors", "[pipeline]") {
  const MemoryModel unlimited;
  CHECK_THROWS_WITH(partition(timed({1, 1, 1}), 4, unlimited),
                    Contains("cannot split 3 units over 4 stages"));
  CHECK_THROWS_WITH(partition(timed({1, 1, 1}), 0, unlimited), Contains("at least one stage"));

  std::vector<UnitCost> units = timed({1, 1, 1});
  units[0].name = "stem", units[1].name = "layer1.0", units[2].name = "head";
  for (auto& u : units) u.param_count = 100;  // 800 bytes each (weights, grads, momentum: 1200)
  MemoryModel m;
  m.optimizer_state_copies = 0;
  m.device_bytes = 700;
  CHECK_THROWS_WITH(partition(units, 3, m),
                    Contains("unit 'stem' does not fit on any device by itself") &&
                        Contains("800 bytes") && Contains("700 bytes"));
  m.device_bytes = 1000;
  // Every unit fits alone, but two stages put two units together (1600 bytes).
  CHECK_THROWS_WITH(partition(units, 2, m),
                    Contains("no split of 3 units over 2 stages fits in 1000 bytes") &&
                        Contains("1,2") && Contains("needs 1600 bytes") &&
                        Contains("on stage 1 (units 'layer1.0'..'head')"));
  CHECK(partition(units, 3, m) == std::vector<int>{1, 1, 1});
  // An explicit partition over the limit names its stage.
  CHECK_THROWS_WITH(
      require_fits(units, {2, 1}, m),
      Contains("partition 2,1: stage 0 (units 'stem'..'layer1.0') needs 1600 bytes") &&
          Contains("1000 bytes"));
  CHECK_NOTHROW(require_fits(units, {1, 1, 1}, m));
  CHECK_THROWS_WITH(require_fits(units, {1, 1}, m), Contains("covers 2 units but the model has 3"));
  m.in_flight_per_stage = {1, 1};
  CHECK_THROWS_WITH(partition(units, 3, m), Contains("in_flight_per_stage has 2 entries for 3"));
}

TEST_CASE("in-flight micro-batches and weight versions per schedule", "[pipeline]") {
  const auto in_flight = [](ScheduleKind kind, int k, int m) {
    return planned_memory(kind, k, m, WeightPolicy::Latest).in_flight_per_stage;
  };
  CHECK(in_flight(ScheduleKind::GPipe, 4, 8) == std::vector<int>{8, 8, 8, 8});
  CHECK(in_flight(ScheduleKind::OneFOneB, 4, 8) == std::vector<int>{4, 3, 2, 1});
  CHECK(in_flight(ScheduleKind::OneFOneB, 4, 2) == std::vector<int>{2, 2, 2, 1});
  // With fewer micro-batches than stages pipedream cannot fill its warm-up.
  CHECK(in_flight(ScheduleKind::PipeDream, 4, 2) == std::vector<int>{2, 2, 2, 1});
  CHECK(in_flight(ScheduleKind::PipeDream, 4, 8) == std::vector<int>{4, 3, 2, 1});
  CHECK(in_flight(ScheduleKind::Sequential, 1, 8) == std::vector<int>{1});
  CHECK(in_flight(ScheduleKind::Naive, 2, 8) == std::vector<int>{1, 1});

  // pipedream K = 4, M = 8 (staleness 0,1,2,3,3,... on stage 0): weight copies per stage.
  const auto versions = [](WeightPolicy policy) {
    return planned_memory(ScheduleKind::PipeDream, 4, 8, policy).weight_versions_per_stage;
  };
  CHECK(versions(WeightPolicy::Latest) == std::vector<int>{1, 1, 1, 1});
  // Stage r keeps a stash for each of its stale in-flight micro-batches: in the steady state
  // all K-r of them are stale except on the last stage, which is always fresh.
  CHECK(versions(WeightPolicy::Stash) == std::vector<int>{5, 4, 3, 1});
  // Prediction adds W_hat wherever a forward is stale; the last stage never is.
  CHECK(versions(WeightPolicy::Predict) == std::vector<int>{2, 2, 2, 1});
  CHECK(versions(WeightPolicy::PredictStash) == std::vector<int>{6, 5, 4, 1});
  CHECK(planned_memory(ScheduleKind::GPipe, 4, 8, WeightPolicy::PredictStash)
            .weight_versions_per_stage == std::vector<int>{1, 1, 1, 1});
}

TEST_CASE("stage ranges of a balance", "[pipeline]") {
  using R = std::vector<std::pair<size_t, size_t>>;
  CHECK(stage_ranges({3, 4, 4, 2}) == R{{0, 3}, {3, 7}, {7, 11}, {11, 13}});
  CHECK(stage_ranges({1}) == R{{0, 1}});
  CHECK_THROWS_WITH(stage_ranges({2, 0}), Contains("stage 1 has 0 units"));
  CHECK(balance_str({3, 4, 4, 2}) == "3,4,4,2");
}

TEST_CASE("analytic unit costs follow the model table", "[pipeline]") {
  const ModelSpec spec = resnet_spec("resnet50");
  const int64_t batch = 32;
  const std::vector<UnitCost> costs = analytic_unit_costs(spec, batch);
  REQUIRE(costs.size() == spec.units.size());
  double forward = 0;
  int64_t params = 0;
  for (size_t i = 0; i < costs.size(); ++i) {
    CHECK(costs[i].name == spec.units[i].name);
    CHECK(costs[i].backward_ms == 2 * costs[i].forward_ms);
    CHECK(costs[i].activation_bytes_per_sample == spec.units[i].output_bytes_per_sample());
    if (i > 0) CHECK(costs[i].input_bytes_per_sample == costs[i - 1].activation_bytes_per_sample);
    forward += costs[i].forward_ms;
    params += costs[i].param_count;
  }
  // Two flops per multiply-add, milliseconds.
  CHECK(forward * 1e-3 * kNominalFlops / (2.0 * batch) == Approx(double(spec.macs())));
  CHECK(params == spec.parameter_count());
  CHECK(costs[0].input_bytes_per_sample == 224 * 224 * 3 * 4);
  // Stem: conv1 and bn1 outputs at 112x112x64, max pool output and indices at 56x56x64.
  CHECK(costs[0].saved_bytes_per_sample == 2 * 112 * 112 * 64 * 4 + 2 * 56 * 56 * 64 * 4);

  // resnet20 at 8x8, by hand.
  const std::vector<UnitCost> small = analytic_unit_costs(resnet_spec("resnet20", {10, 3, 8}), 2);
  CHECK(small[0].saved_bytes_per_sample == 2 * 8 * 8 * 16 * 4);      // conv1 + bn1
  CHECK(small[1].saved_bytes_per_sample == 2 * 2 * 8 * 8 * 16 * 4);  // layer1.0: two conv+bn
  // layer2.0 (stride 2, 16 -> 32 channels): conv1, conv2 and the projection at 4x4x32.
  CHECK(small[4].name == "layer2.0");
  CHECK(small[4].saved_bytes_per_sample == 3 * 2 * 4 * 4 * 32 * 4);
  CHECK(small.back().saved_bytes_per_sample == (64 + 10) * 4);  // pooled features, logits

  // A 4-stage partition of resnet50 exists on an 80 GB device with 1F1B and stashing.
  MemoryModel m;
  m.device_bytes = int64_t(80) << 30;
  m.micro_batch_size = batch;
  const MemoryModel planned = planned_memory(ScheduleKind::PipeDream, 4, 4, WeightPolicy::Stash);
  m.in_flight_per_stage = planned.in_flight_per_stage;
  m.weight_versions_per_stage = planned.weight_versions_per_stage;
  const std::vector<int> b = partition(costs, 4, m);
  CHECK(b.size() == 4);
  CHECK_NOTHROW(require_fits(costs, b, m));
}

TEST_CASE("profile JSON round trip and corrupt files", "[pipeline]") {
  UnitProfile p;
  p.model = "resnet20";
  p.options = {10, 3, 16};
  p.micro_batch = 2;
  p.device = "cpu";
  p.device_description = "cpu: 2 threads";
  p.repeats = 3;
  p.units = analytic_unit_costs(resnet_spec("resnet20", p.options), 2);
  p.units[3].forward_ms = 0.123456789012345;
  const std::string path = temp_path("profile.json");
  save_profile_json(p, path);
  const UnitProfile q = load_profile_json(path);
  CHECK(q.model == p.model);
  CHECK(q.options.num_classes == 10);
  CHECK(q.options.in_channels == 3);
  CHECK(q.options.image_size == 16);
  CHECK(q.micro_batch == 2);
  CHECK(q.device == "cpu");
  CHECK(q.device_description == p.device_description);
  CHECK(q.repeats == 3);
  REQUIRE(q.units.size() == p.units.size());
  for (size_t i = 0; i < q.units.size(); ++i) {
    CHECK(q.units[i].name == p.units[i].name);
    CHECK(q.units[i].forward_ms == p.units[i].forward_ms);  // JSON keeps doubles exactly
    CHECK(q.units[i].backward_ms == p.units[i].backward_ms);
    CHECK(q.units[i].param_count == p.units[i].param_count);
    CHECK(q.units[i].input_bytes_per_sample == p.units[i].input_bytes_per_sample);
    CHECK(q.units[i].activation_bytes_per_sample == p.units[i].activation_bytes_per_sample);
    CHECK(q.units[i].saved_bytes_per_sample == p.units[i].saved_bytes_per_sample);
  }
  CHECK_NOTHROW(check_profile_matches(q, resnet_spec("resnet20", {10, 3, 16}), 2, path));
  CHECK_THROWS_WITH(check_profile_matches(q, resnet_spec("resnet32", {10, 3, 16}), 2, path),
                    Contains(path) && Contains("it profiles resnet20"));
  CHECK_THROWS_WITH(check_profile_matches(q, resnet_spec("resnet20", {10, 3, 32}), 2, path),
                    Contains("16px images"));
  CHECK_THROWS_WITH(check_profile_matches(q, resnet_spec("resnet20", {10, 3, 16}), 4, path),
                    Contains("measured at micro-batch 2, the run uses 4"));

  CHECK_THROWS_WITH(load_profile_json(temp_path("missing.json")),
                    Contains(temp_path("missing.json")) && Contains("cannot open"));
  const std::string bad = temp_path("bad_profile.json");
  write_file(bad, "{\"format\": \"augur-unit-profile\", ");
  CHECK_THROWS_WITH(load_profile_json(bad), Contains(bad) && Contains("not valid JSON"));
  write_file(bad, "[1, 2]");
  CHECK_THROWS_WITH(load_profile_json(bad), Contains("top level must be a JSON object"));
  write_file(bad, "{\"format\": \"something-else\", \"version\": 1}");
  CHECK_THROWS_WITH(load_profile_json(bad), Contains("format is not 'augur-unit-profile'"));

  // Damage one field of the saved profile at a time.
  std::ifstream in(path);
  const std::string good((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto damaged = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    const size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    write_file(bad, text);
  };
  damaged("\"micro_batch\"", "\"microbatch\"");
  CHECK_THROWS_WITH(load_profile_json(bad),
                    Contains(bad) && Contains("the profile has no field 'micro_batch'"));
  damaged("\"version\": 1", "\"version\": 7");
  CHECK_THROWS_WITH(load_profile_json(bad), Contains("unsupported version 7"));
  damaged("\"forward_ms\": 0.123456789012345", "\"forward_ms\": -1.0");
  CHECK_THROWS_WITH(load_profile_json(bad),
                    Contains("units[3].forward_ms must be a non-negative number of ms, got -1.0"));
  damaged("\"name\": \"layer1.1\"", "\"name\": 5");
  CHECK_THROWS_WITH(load_profile_json(bad), Contains("units[2].name must be a string"));
  damaged("\"param_count\": ", "\"param_count\": \"many\", \"x\": ");
  CHECK_THROWS_WITH(load_profile_json(bad),
                    Contains("units[0].param_count must be a non-negative integer"));
  std::remove(path.c_str());
  std::remove(bad.c_str());
}

TEST_CASE("the profiler measures every unit of resnet20 on the CPU", "[pipeline]") {
  const ModelSpec spec = resnet_spec("resnet20", {10, 3, 8});
  const UnitProfile p = profile_units(spec, 2, Device::cpu(), 1);
  CHECK(p.model == "resnet20");
  CHECK(p.device == "cpu");
  CHECK(p.micro_batch == 2);
  CHECK_NOTHROW(check_profile_matches(p, spec, 2, "measured"));
  const std::vector<UnitCost> analytic = analytic_unit_costs(spec, 2);
  REQUIRE(p.units.size() == spec.units.size());
  for (size_t i = 0; i < p.units.size(); ++i) {
    const UnitCost& u = p.units[i];
    INFO(u.name);
    CHECK(u.forward_ms > 0);
    CHECK(u.backward_ms > 0);
    CHECK(u.param_count == analytic[i].param_count);
    CHECK(u.input_bytes_per_sample == analytic[i].input_bytes_per_sample);
    CHECK(u.activation_bytes_per_sample == analytic[i].activation_bytes_per_sample);
    // What the layers really keep: the estimate plus each BatchNorm's per-channel mean and
    // inverse deviation (2 floats a channel, per micro-batch of 2 samples).
    int64_t bn_stats = 0;
    for (const ConvSpec& c : spec.units[i].convs) bn_stats += 2 * c.out_channels * 4;
    CHECK(u.saved_bytes_per_sample == analytic[i].saved_bytes_per_sample + bn_stats / 2);
  }
  // The measured profile drives the partitioner like any other cost list.
  CHECK(partition(p.units, 3, MemoryModel{}).size() == 3);
}

TEST_CASE("gpu: the profiler measures every unit of resnet20 on a GPU", "[pipeline][gpu]") {
  AUGUR_REQUIRE_GPU();
  const ModelSpec spec = resnet_spec("resnet20", {10, 3, 16});
  const UnitProfile gpu = profile_units(spec, 4, Device::cuda(0), 3);
  const UnitProfile cpu = profile_units(spec, 4, Device::cpu(), 1);
  CHECK(gpu.device == "cuda:0");
  CHECK_THAT(gpu.device_description, Contains("cuda:0"));
  REQUIRE(gpu.units.size() == cpu.units.size());
  for (size_t i = 0; i < gpu.units.size(); ++i) {
    INFO(gpu.units[i].name);
    CHECK(gpu.units[i].forward_ms > 0);
    CHECK(gpu.units[i].backward_ms > 0);
    // The same layers keep the same tensors on either device.
    CHECK(gpu.units[i].saved_bytes_per_sample == cpu.units[i].saved_bytes_per_sample);
    CHECK(gpu.units[i].activation_bytes_per_sample == cpu.units[i].activation_bytes_per_sample);
  }
}
