#include "apps/train_options.h"

#include "apps/flag_checks.h"
#include "apps/precision.h"
#include "layers/layer.h"
#include "models/resnet_spec.h"
#include "optim/lr_schedule.h"
#include "optim/optimizer_config.h"
#include "optim/predictor.h"
#include "pipeline/action.h"
#include "pipeline/weight_policy.h"
#include "runtime/limits.h"

namespace augur {

void add_train_options(CLI::App* app, TrainOptions* o, bool for_eval) {
  app->add_option("--model", o->model, "Model")->check(CLI::IsMember(resnet_names()));
  app->add_option("--dataset", o->dataset,
                  "fashion-mnist, mnist, cifar10, imagefolder or synthetic")
      ->check(CLI::IsMember({"fashion-mnist", "mnist", "cifar10", "imagefolder", "synthetic"}));
  app->add_option("--data-path", o->data_path,
                  "Dataset folder (default: the dataset's usual place)");
  app->add_option("--image-size", o->image_size,
                  "Crop side for imagefolder, image side for synthetic")
      ->check(non_negative_integer(limits::kImageSide));
  app->add_option("--limit-test", o->limit_test, "Evaluate on the first N test samples")
      ->check(non_negative_integer(INT64_MAX));
  app->add_option("-j,--workers", o->workers, "Data loading threads")->check(integer_in(0, 64));
  app->add_option("-b,--batch-size", o->batch_size, "Samples per optimizer step")
      ->check(positive_integer(limits::kBatchSize));
  app->add_option("--device", o->device, "cpu or cuda:N for every stage");
  app->add_option("--seed", o->seed, "Seed for initialisation, data order and augmentation")
      ->check(unsigned_integer());
  app->add_option("--label-smoothing", o->label_smoothing, "Label smoothing")
      ->check(real_in(0.0, 1.0));
  app->add_option("--pp-stages", o->pp_stages, "Pipeline stages")
      ->check(integer_in(1, limits::kStages));
  app->add_option("--dp-replicas", o->dp_replicas,
                  "Data-parallel replicas of the pipeline when launched as several processes "
                  "(default: processes / stages)")
      ->check(integer_in(1, limits::kStages));
  app->add_option("--devices", o->devices,
                  "Device of each stage, comma-separated (or one for all)");
  app->add_option("--balance", o->balance, "Units per stage, e.g. 3,4,4,2");
  app->add_option("--split-at", o->split_at,
                  "First unit of each stage after the first, e.g. layer2.0,layer3.0");
  app->add_option("--precision", o->precision,
                  "auto, fp32, tf32 or bf16 (auto: tf32 with a GPU stage, else fp32)")
      ->check(CLI::IsMember(precision_names()));
  app->add_flag("--cudnn-benchmark", o->cudnn_benchmark,
                "GPU: time the candidate convolution algorithms of each shape once and keep the "
                "fastest (a rerun may pick others: resumed runs are then not bit-exact)");
  app->add_flag("--nondeterministic", o->nondeterministic,
                "GPU: allow convolution algorithms that accumulate with atomics");
  if (for_eval) {
    app->add_option("--weights", o->weights, "Checkpoint or torchvision state_dict (safetensors)")
        ->required()
        ->check(CLI::ExistingFile);
    return;
  }
  app->add_option("--limit-train", o->limit_train, "Train on the first N samples")
      ->check(non_negative_integer(INT64_MAX));
  app->add_option("--epochs", o->epochs, "Epochs")->check(positive_integer(limits::kEpochs));
  app->add_option("--optimizer", o->optimizer, "sgd or adamw")
      ->check(CLI::IsMember(optim::optimizer_kind_names()));
  app->add_option("--lr", o->lr, "Learning rate")->check(positive_real());
  app->add_option("--momentum", o->momentum, "SGD momentum")->check(real_in(0.0, 1.0));
  app->add_option("--wd,--weight-decay", o->wd, "Weight decay")->check(non_negative_real());
  app->add_flag("--nesterov", o->nesterov, "Nesterov momentum");
  app->add_flag("!--no-norm-weight-decay", o->norm_weight_decay,
                "No weight decay on BatchNorm and bias parameters");
  app->add_option("--lr-scheduler", o->lr_scheduler, "constant, step, multistep or cosine")
      ->check(CLI::IsMember(optim::lr_decay_names()));
  app->add_option("--lr-step-size", o->lr_step_size, "Epochs per decay (step)")
      ->check(positive_integer());
  app->add_option("--lr-gamma", o->lr_gamma, "Decay factor (step, multistep)")
      ->check(real_in(0.0, 1.0));
  app->add_option("--lr-milestones", o->lr_milestones,
                  "Epochs of the decays (multistep), e.g. 30,60");
  app->add_option("--lr-warmup-epochs", o->lr_warmup_epochs, "Warm-up epochs")
      ->check(non_negative_integer());
  app->add_option("--lr-warmup-method", o->lr_warmup_method, "linear or constant")
      ->check(CLI::IsMember(optim::lr_warmup_names()));
  app->add_option("--pp-schedule", o->pp_schedule, "sequential, naive, gpipe, 1f1b or pipedream")
      ->check(CLI::IsMember(schedule_names()));
  app->add_option("--micro-batches", o->micro_batches,
                  "Micro-batches per mini-batch (synchronous schedules)")
      ->check(positive_integer(limits::kMicroBatches));
  app->add_option("--weight-policy", o->weight_policy, "latest, stash, predict or predict-stash")
      ->check(CLI::IsMember(weight_policy_names()));
  app->add_option("--predictor", o->predictor, "none, linear, nesterov or constant-gradient")
      ->check(CLI::IsMember(optim::predictor_names()));
  app->add_option("--bn-stats", o->bn_stats, "micro or deferred")
      ->check(CLI::IsMember(bn_stats_names()));
  app->add_option("--quality-every", o->quality_every,
                  "Measure prediction quality every N micro-batches (0: never)")
      ->check(non_negative_integer());
  app->add_option("--stage-momentum-max", o->stage_momentum_max,
                  "Per-stage momentum mu + s_r (MAX - mu) / K for a stage s_r steps stale, its "
                  "learning rate scaled by (1 - mu_r) / (1 - mu) (0: off)")
      ->check(real_in(0.0, 1.0));
  app->add_flag("--momentum-bias-correction", o->momentum_bias_correction,
                "Learning rate times 1 / (1 - mu_r^t) on step t (the momentum buffer filling)");
  app->add_flag("--relative-bias-correction", o->relative_bias_correction,
                "Learning rate times (1 - mu^t) / (1 - mu_r^t): each stage's early steps ramp "
                "up as the base momentum's do");
  app->add_option("--stage-lr-warmup-steps", o->stage_lr_warmup_steps,
                  "PipeMare's warm-up: a stage s_r steps stale starts at lr / s_r and reaches "
                  "lr after this many steps (0: off)")
      ->check(non_negative_integer(INT64_MAX));
  app->add_flag("--spike-compensation", o->spike_compensation,
                "Apply a gradient s steps late as mu^s v + (1 - mu^s) / (1 - mu) g (Kosson "
                "et al.; s = 1 is Nesterov)");
  app->add_option("--bn-recalibrate", o->bn_recalibrate,
                  "Also evaluate each epoch with every BatchNorm's running statistics "
                  "re-estimated over the first N training batches (0: off)")
      ->check(non_negative_integer(limits::kMicroBatches));
  app->add_option("--sync-cooldown-epochs", o->sync_cooldown_epochs,
                  "Run pipedream's last N epochs as 1f1b with --micro-batches micro-batches, the "
                  "optimizer and its per-stage rules unchanged: how much of the staleness gap "
                  "finishing synchronously recovers (0: off)")
      ->check(non_negative_integer(limits::kEpochs));
  app->add_option("--output-dir", o->output_dir, "Where metrics, checkpoints and args.json go");
  app->add_option("--resume", o->resume, "Continue from this checkpoint")->check(CLI::ExistingFile);
  app->add_flag("--overwrite", o->overwrite,
                "Replace the run already in --output-dir (its metrics and checkpoints) instead "
                "of refusing to write there");
  app->add_option("--trace", o->trace, "Write a Chrome trace of the pipeline to this file");
  app->add_option("--print-freq", o->print_freq, "Progress and metrics every N steps")
      ->check(positive_integer());
  app->add_option("--checkpoint-every", o->checkpoint_every,
                  "Also checkpoint every N optimizer steps (pipedream: runs each epoch as "
                  "segments of N steps, its pipeline drained at each segment's end)")
      ->check(non_negative_integer());
}

nlohmann::json to_json(const TrainOptions& o) {
  return {{"model", o.model},
          {"dataset", o.dataset},
          {"data_path", o.data_path},
          {"image_size", o.image_size},
          {"limit_train", o.limit_train},
          {"limit_test", o.limit_test},
          {"workers", o.workers},
          {"batch_size", o.batch_size},
          {"epochs", o.epochs},
          {"optimizer", o.optimizer},
          {"lr", o.lr},
          {"momentum", o.momentum},
          {"wd", o.wd},
          {"nesterov", o.nesterov},
          {"norm_weight_decay", o.norm_weight_decay},
          {"lr_scheduler", o.lr_scheduler},
          {"lr_step_size", o.lr_step_size},
          {"lr_gamma", o.lr_gamma},
          {"lr_milestones", o.lr_milestones},
          {"lr_warmup_epochs", o.lr_warmup_epochs},
          {"lr_warmup_method", o.lr_warmup_method},
          {"label_smoothing", o.label_smoothing},
          {"seed", o.seed},
          {"pp_schedule", o.pp_schedule},
          {"pp_stages", o.pp_stages},
          {"dp_replicas", o.dp_replicas},
          {"micro_batches", o.micro_batches},
          {"devices", o.devices},
          {"device", o.device},
          {"balance", o.balance},
          {"split_at", o.split_at},
          {"precision", o.precision},
          {"cudnn_benchmark", o.cudnn_benchmark},
          {"nondeterministic", o.nondeterministic},
          {"weight_policy", o.weight_policy},
          {"predictor", o.predictor},
          {"bn_stats", o.bn_stats},
          {"quality_every", o.quality_every},
          {"stage_momentum_max", o.stage_momentum_max},
          {"momentum_bias_correction", o.momentum_bias_correction},
          {"relative_bias_correction", o.relative_bias_correction},
          {"stage_lr_warmup_steps", o.stage_lr_warmup_steps},
          {"spike_compensation", o.spike_compensation},
          {"bn_recalibrate", o.bn_recalibrate},
          {"sync_cooldown_epochs", o.sync_cooldown_epochs},
          {"output_dir", o.output_dir},
          {"resume", o.resume},
          {"overwrite", o.overwrite},
          {"trace", o.trace},
          {"print_freq", o.print_freq},
          {"checkpoint_every", o.checkpoint_every}};
}

}  // namespace augur
