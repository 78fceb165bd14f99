#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "optim/lr_schedule.h"
#include "tests/support/close.h"

using namespace augur;
using namespace augur::optim;
using augur::test::tolerance_for;

namespace {

std::vector<double> first(const LrSchedule& s, int64_t count) {
  return s.ahead(0, count);
}

// A few double operations on rates below 1.
const test::Tolerance kTol = tolerance_for(DType::F64, 8, 1.0);

}  // namespace

TEST_CASE("constant, step and multistep schedules", "[optim][schedule]") {
  CHECK(first(LrSchedule::constant(0.1), 3) == std::vector<double>{0.1, 0.1, 0.1});
  CHECK(LrSchedule::constant(0.1).lr(1000000) == 0.1);

  LrScheduleConfig c;
  c.base_lr = 1.0;
  c.decay = LrDecay::Step;
  c.step_size = 3;
  c.gamma = 0.5;
  AUGUR_CHECK_CLOSE(first(LrSchedule(c), 8),
                    std::vector<double>({1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25}), kTol);

  c = {};
  c.base_lr = 0.1;
  c.decay = LrDecay::MultiStep;
  c.milestones = {2, 5};
  c.gamma = 0.1;
  AUGUR_CHECK_CLOSE(first(LrSchedule(c), 7),
                    std::vector<double>({0.1, 0.1, 0.01, 0.01, 0.01, 0.001, 0.001}), kTol);
  AUGUR_CHECK_CLOSE(std::vector<double>{LrSchedule(c).lr(1000)}, std::vector<double>{0.001}, kTol);
}

TEST_CASE("cosine annealing follows PyTorch's closed form", "[optim][schedule]") {
  LrScheduleConfig c;
  c.base_lr = 1.0;
  c.decay = LrDecay::Cosine;
  c.t_max = 4;
  c.eta_min = 0.1;
  // eta_min + 0.9 (1 + cos(pi e / 4)) / 2: e = 1 gives 0.1 + 0.45 (1 + sqrt(1/2)).
  const double e1 = 0.1 + 0.45 * (1 + std::sqrt(0.5));
  const double e3 = 0.1 + 0.45 * (1 - std::sqrt(0.5));
  AUGUR_CHECK_CLOSE(first(LrSchedule(c), 9),
                    std::vector<double>({1.0, e1, 0.55, e3, 0.1, e3, 0.55, e1, 1.0}), kTol);
}

TEST_CASE("warm-up precedes the decay, which then starts from its own step 0",
          "[optim][schedule]") {
  LrScheduleConfig c;
  c.base_lr = 0.4;
  c.decay = LrDecay::MultiStep;
  c.milestones = {2};
  c.warmup = LrWarmup::Linear;
  c.warmup_units = 4;
  c.warmup_start_factor = 0.25;
  // 0.4 * (0.25 + 0.75 e / 4) for e < 4, then 0.4 until the milestone 2 steps later.
  AUGUR_CHECK_CLOSE(first(LrSchedule(c), 8),
                    std::vector<double>({0.1, 0.175, 0.25, 0.325, 0.4, 0.4, 0.04, 0.04}), kTol);

  c = {};
  c.base_lr = 0.1;
  c.warmup = LrWarmup::Constant;
  c.warmup_units = 2;
  c.warmup_start_factor = 0.5;
  AUGUR_CHECK_CLOSE(first(LrSchedule(c), 4), std::vector<double>({0.05, 0.05, 0.1, 0.1}), kTol);
}

TEST_CASE("schedules in epochs of several steps, and rates ahead", "[optim][schedule]") {
  LrScheduleConfig c;
  c.base_lr = 1.0;
  c.decay = LrDecay::Step;
  c.step_size = 1;
  c.gamma = 0.5;
  c.steps_per_unit = 3;
  const LrSchedule s(c);
  AUGUR_CHECK_CLOSE(first(s, 7), std::vector<double>({1, 1, 1, 0.5, 0.5, 0.5, 0.25}), kTol);
  AUGUR_CHECK_CLOSE(s.ahead(2, 3), std::vector<double>({1, 0.5, 0.5}), kTol);
  CHECK(s.ahead(5, 0).empty());
}

TEST_CASE("schedule names parse and bad configurations are refused", "[optim][schedule]") {
  CHECK(parse_lr_decay("cosine") == LrDecay::Cosine);
  CHECK(parse_lr_decay("multistep") == LrDecay::MultiStep);
  CHECK(parse_lr_warmup("linear") == LrWarmup::Linear);
  CHECK(std::string(lr_decay_name(LrDecay::Step)) == "step");
  CHECK_THROWS_WITH(parse_lr_decay("exp"), Catch::Contains("'exp'"));
  CHECK_THROWS_WITH(parse_lr_warmup("ramp"), Catch::Contains("'ramp'"));
  LrScheduleConfig c;
  c.decay = LrDecay::MultiStep;
  c.milestones = {5, 3};
  CHECK_THROWS_WITH(LrSchedule(c), Catch::Contains("milestones"));
  c = {};
  c.decay = LrDecay::Cosine;
  c.t_max = 0;
  CHECK_THROWS_WITH(LrSchedule(c), Catch::Contains("t_max"));
  c = {};
  c.warmup = LrWarmup::Linear;
  c.warmup_units = 0;
  CHECK_THROWS_WITH(LrSchedule(c), Catch::Contains("warm-up"));
  CHECK_THROWS_WITH(LrSchedule::constant(0.1).lr(-1), Catch::Contains("-1"));
}
