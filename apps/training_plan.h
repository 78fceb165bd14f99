// Everything `augur train` and `augur eval` settle before the first step: the resolved
// options, the datasets, the model, the stages and their devices, the schedule, the loader
// and the learning-rate schedule. A pure read of the options plus opening the data; nothing
// trains here.
#pragma once

#include <memory>
#include <vector>

#include "apps/train_options.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "models/resnet_spec.h"
#include "optim/lr_schedule.h"
#include "pipeline/action.h"
#include "pipeline/engine.h"

namespace augur {

struct TrainingPlan {
  TrainOptions options;  // resolved (stages for sequential, the dataset actually used)
  ScheduleKind kind = ScheduleKind::PipeDream;
  bool synchronous = false;
  int stages = 1;
  int micro_batches = 1;  // per optimizer step, in each replica
  // Data parallelism: each loader batch holds `replicas` x -b samples, and replica d trains
  // on the d-th -b of them (micro-batch mb of replica d is micro-batch d x M + mb of the
  // batch), so R replicas see what one pipeline sees with R times the micro-batches.
  int replicas = 1, replica = 0;
  std::shared_ptr<const data::Dataset> train, test;
  ModelSpec spec;
  std::vector<int> balance;
  std::vector<StagePlacement> placement;
  std::unique_ptr<data::Loader> loader;
  int64_t steps_per_epoch = 0;
  optim::LrSchedule schedule;  // lr_schedule(options, steps_per_epoch)
  optim::OptimizerConfig optimizer;
  EngineOptions engine;
  std::string balance_text() const;
};

TrainingPlan plan_training(const TrainOptions& options, const CLI::App& app, int replicas = 1);

// The learning-rate schedule of the options over `steps_per_epoch` optimizer steps an epoch.
optim::LrSchedule lr_schedule(const TrainOptions& options, int64_t steps_per_epoch);

// The model and stages `augur eval` evaluates with, on the test split of the options' data.
struct EvalPlan {
  std::shared_ptr<const data::Dataset> test;
  ModelSpec spec;
  std::vector<StagePlacement> placement;
  DType compute_dtype = DType::F32;  // from --precision
};
EvalPlan plan_eval(const TrainOptions& options);

}  // namespace augur
