// `augur train` and `augur eval`: datasets, the pipeline, the epoch loop, evaluation,
// metrics, checkpoints and resumption.
#pragma once

#include "apps/train_options.h"

namespace augur {

int run_train(const TrainOptions& options, const CLI::App& app);
int run_eval(const TrainOptions& options);

}  // namespace augur
