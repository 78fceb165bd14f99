// The optimizer on a device against the same optimizer on the CPU, over several steps with
// a learning-rate drop, weight-decay exclusions and a prediction fused into every step.
#include <catch2/catch.hpp>

#include <vector>

#include "optim/optimizer.h"
#include "tests/support/close.h"
#include "tests/support/gpu.h"
#include "tests/support/random.h"
#include "tests/support/tensors.h"

using namespace augur;
using namespace augur::optim;
using namespace augur::test;

TEST_CASE("gpu: the optimizer on a device follows the CPU reference", "[gpu][optim]") {
  AUGUR_REQUIRE_GPU();
  const Stream& cs = Stream::cpu();
  Stream gs = Stream::create(Device::cuda(0));
  const int64_t n = 100003;
  const DecayMask mask(n, {{17, 1000, false}, {5000, 333, false}, {n - 7, 7, false}});
  LrScheduleConfig lc;
  lc.base_lr = 0.1;
  lc.decay = LrDecay::MultiStep;
  lc.milestones = {3};
  OptimizerConfig sgd;
  sgd.sgd.weight_decay = 0.01;
  OptimizerConfig adam;
  adam.kind = OptimizerKind::AdamW;
  for (const auto& [config, predictor] :
       std::vector<std::pair<OptimizerConfig, Predictor>>{{sgd, Predictor::ConstantGradient},
                                                          {sgd, Predictor::Nesterov},
                                                          {adam, Predictor::Linear}}) {
    INFO(optimizer_kind_name(config.kind) << ", " << predictor_name(predictor));
    Optimizer oc(config, LrSchedule(lc), mask, Device::cpu(), cs);
    Optimizer od(config, LrSchedule(lc), mask, Device::cuda(0), gs);
    const auto w0 = random_floats(n, 41);
    Tensor wc = make_tensor(w0, Shape{n}, Device::cpu(), cs);
    Tensor wd = make_tensor(w0, Shape{n}, Device::cuda(0), gs);
    Tensor pc = Tensor::zeros(Shape{n}, DType::F32, Device::cpu(), cs);
    Tensor pd = Tensor::zeros(Shape{n}, DType::F32, Device::cuda(0), gs);
    for (int step = 0; step < 5; ++step) {
      INFO("step " << step);
      const auto g = random_floats(n, 50 + step);
      Tensor gc = make_tensor(g, Shape{n}, Device::cpu(), cs);
      Tensor gd = make_tensor(g, Shape{n}, Device::cuda(0), gs);
      PredictRequest rc{predictor, 2, pc}, rd{predictor, 2, pd};
      oc.step(wc, gc, cs, &rc);
      od.step(wd, gd, gs, &rd);
      // Each step rounds a handful of times on values of order 1 (AdamW steps by lr at most).
      const Tolerance tol = tolerance_for(DType::F32, 8 * (step + 1), 4.0);
      AUGUR_CHECK_CLOSE(to_vector<float>(wd, gs), to_vector<float>(wc, cs), tol);
      AUGUR_CHECK_CLOSE(to_vector<float>(pd, gs), to_vector<float>(pc, cs), tol);
      CHECK(to_vector<float>(gd, gs) == std::vector<float>(size_t(n), 0.f));
    }
  }
}
