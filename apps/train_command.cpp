// Registers `augur train` and `augur eval`.
#include <memory>

#include "apps/commands.h"
#include "apps/trainer.h"

namespace augur {

void register_train_commands(CLI::App& app) {
  auto train = std::make_shared<TrainOptions>();
  CLI::App* t =
      app.add_subcommand("train",
                         "Train a ResNet with pipeline parallelism (no arguments: resnet20 on "
                         "Fashion-MNIST, 4-stage pipedream with weight prediction, one epoch)");
  add_train_options(t, train.get(), false);
  set_command_runner(t, [train, t] { return run_train(*train, *t); });

  auto eval = std::make_shared<TrainOptions>();
  eval->pp_stages = 1;
  CLI::App* e = app.add_subcommand("eval", "Evaluate a checkpoint on a dataset's test split");
  add_train_options(e, eval.get(), true);
  set_command_runner(e, [eval] { return run_eval(*eval); });
}

}  // namespace augur
