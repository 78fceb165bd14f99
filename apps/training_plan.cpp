#include "apps/training_plan.h"

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "apps/commands.h"
#include "apps/precision.h"
#include "apps/stage_flags.h"
#include "data/open.h"
#include "kernels/gpu_math.h"
#include "pipeline/partitioner.h"
#include "pipeline/schedule_generators.h"
#include "pipeline/staleness.h"
#include "runtime/limits.h"

namespace augur {

namespace fs = std::filesystem;

namespace {

const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

data::DatasetSpec dataset_spec(const TrainOptions& o, data::Split split) {
  data::DatasetSpec d;
  d.name = o.dataset;
  d.path = o.data_path;
  d.split = split;
  d.image_size = o.image_size;
  d.seed = o.seed;
  if (o.dataset == "synthetic") d.synthetic_samples = split == data::Split::Train ? 20000 : 2000;
  if (o.dataset == "synthetic" && o.image_size == 28) d.channels = 1;
  return d;
}

bool fashion_mnist_missing(const TrainOptions& o) {
  return o.dataset == "fashion-mnist" && o.data_path.empty() && !fs::exists(kFashionMnistDir);
}

std::vector<Device> stage_devices(const TrainOptions& o, int stages) {
  if (!split_list(o.devices).empty() && !o.device.empty())
    throw Error("--device and --devices contradict each other: give one of them");
  std::vector<std::string> names = devices_per_stage(o.devices, stages);
  if (names.empty()) {
    const std::string d =
        !o.device.empty() ? o.device : (cuda_device_count() > 0 ? "cuda:0" : "cpu");
    names.assign(static_cast<size_t>(stages), d);
  }
  std::vector<Device> out;
  for (const auto& n : names) {
    Device d = Device::parse(n);
    require_device(d);
    out.push_back(d);
  }
  return out;
}

// The stages: explicit (--balance, --split-at) or the partitioner over the units' analytic
// costs for micro-batches of `micro_batch`, each on its device.
std::vector<StagePlacement> plan_stages(const TrainOptions& o, int stages, const ModelSpec& spec,
                                        int64_t micro_batch, std::vector<int>* balance) {
  std::vector<std::string> unit_names;
  for (const auto& u : spec.units) unit_names.push_back(u.name);
  if (!o.balance.empty())
    *balance = parse_balance(o.balance, static_cast<int>(spec.units.size()), stages);
  else if (!o.split_at.empty())
    *balance = parse_split_at(o.split_at, unit_names, stages);
  else
    *balance = partition(analytic_unit_costs(spec, micro_batch), stages, MemoryModel{});
  const std::vector<Device> devices = stage_devices(o, stages);
  std::vector<StagePlacement> placement;
  const auto ranges = stage_ranges(*balance);
  for (int r = 0; r < stages; ++r)
    placement.push_back({ranges[size_t(r)].first, ranges[size_t(r)].second, devices[size_t(r)]});
  return placement;
}

ModelSpec model_for(const TrainOptions& o, const data::Dataset& d) {
  const data::ImageShape shape = d.image_shape();
  if (shape.h != shape.w)
    throw Error("the model needs square images; the dataset gives " + shape.str() +
                " (set --image-size)");
  return resnet_spec(o.model,
                     {d.num_classes(), static_cast<int>(shape.c), static_cast<int>(shape.h)});
}

// --precision for the stages' devices; sets the GPU kernels' TF32 switch to match, and their
// convolution algorithm rules (--cudnn-benchmark, --nondeterministic).
Precision precision_of(const TrainOptions& o, const std::vector<StagePlacement>& placement) {
  std::vector<Device> devices;
  for (const StagePlacement& s : placement) devices.push_back(s.device);
  const Precision p = resolve_precision(o.precision, devices);
  apply_precision(p);
  // The convolution algorithm rules travel with the precision: both are process-wide
  // switches of the GPU kernels (kernels/gpu_math.h).
  kernels::set_conv_algo_search(o.cudnn_benchmark ? kernels::ConvAlgoSearch::Benchmark
                                                  : kernels::ConvAlgoSearch::Heuristic);
  kernels::set_conv_deterministic(!o.nondeterministic);
  return p;
}

}  // namespace

std::string TrainingPlan::balance_text() const {
  return balance_str(balance);
}

optim::LrSchedule lr_schedule(const TrainOptions& o, int64_t steps_per_epoch) {
  // Options count in epochs, as torchvision's do; the schedule runs per optimizer step, so a
  // cosine or warm-up is smooth within an epoch (which a one-epoch run needs).
  optim::LrScheduleConfig c;
  c.base_lr = o.lr;
  c.decay = optim::parse_lr_decay(o.lr_scheduler);
  c.gamma = o.lr_gamma;
  c.step_size = int64_t(o.lr_step_size) * steps_per_epoch;
  for (const auto& m : split_list(o.lr_milestones)) {
    size_t used = 0;
    long long epochs = -1;
    try {
      epochs = std::stoll(m, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != m.size() || epochs < 0)
      throw Error("--lr-milestones: '" + m + "' is not a non-negative whole number of epochs");
    if (epochs > limits::kEpochs)
      throw Error("--lr-milestones: " + m + " is over the limit of " +
                  std::to_string(limits::kEpochs) + " epochs");
    c.milestones.push_back(epochs * steps_per_epoch);
  }
  if (c.decay == optim::LrDecay::MultiStep && c.milestones.empty())
    throw Error("--lr-scheduler multistep needs --lr-milestones");
  c.warmup =
      o.lr_warmup_epochs > 0 ? optim::parse_lr_warmup(o.lr_warmup_method) : optim::LrWarmup::None;
  c.warmup_units = int64_t(o.lr_warmup_epochs) * steps_per_epoch;
  c.t_max = std::max<int64_t>(1, int64_t(o.epochs - o.lr_warmup_epochs) * steps_per_epoch);
  return optim::LrSchedule(c);
}

TrainingPlan plan_training(const TrainOptions& options, const CLI::App& app, int replicas) {
  TrainingPlan p;
  p.replicas = std::max(1, replicas);
  TrainOptions& o = p.options;
  o = options;
  p.kind = parse_schedule_kind(o.pp_schedule);
  if (p.kind == ScheduleKind::Sequential && o.pp_stages != 1) {
    if (app.count("--pp-stages"))
      throw Error("--pp-schedule sequential runs one stage, but --pp-stages is " +
                  std::to_string(o.pp_stages));
    o.pp_stages = 1;
  }
  if (!o.balance.empty() && !o.split_at.empty())
    throw Error("--balance and --split-at contradict each other: give one of them");
  p.synchronous = is_synchronous(p.kind);
  if (o.sync_cooldown_epochs > 0) {
    if (p.kind != ScheduleKind::PipeDream)
      throw Error(
          "--sync-cooldown-epochs ends a pipedream run synchronously, but --pp-schedule "
          "is " +
          o.pp_schedule);
    if (o.sync_cooldown_epochs >= o.epochs)
      throw Error("--sync-cooldown-epochs " + std::to_string(o.sync_cooldown_epochs) +
                  " must be less than --epochs " + std::to_string(o.epochs) +
                  " (for a run that is synchronous throughout, use --pp-schedule 1f1b)");
  }
  if (!p.synchronous && app.count("--micro-batches") && o.sync_cooldown_epochs == 0)
    std::cerr << "augur: note: pipedream steps after every micro-batch of -b " << o.batch_size
              << " samples; --micro-batches does not apply\n";
  p.micro_batches = p.synchronous ? o.micro_batches : 1;
  // Every synchronous epoch splits -b into --micro-batches: the whole run's, or a cool-down's.
  if ((p.synchronous || o.sync_cooldown_epochs > 0) && o.batch_size % o.micro_batches != 0)
    throw Error("-b " + std::to_string(o.batch_size) + " is not divisible by --micro-batches " +
                std::to_string(o.micro_batches));
  p.stages = o.pp_stages;

  // The default run trains without a download: Fashion-MNIST from Debian's package when it
  // is there, else synthetic data of the same shape, announced.
  if (fashion_mnist_missing(o)) {
    std::cerr << "augur: Fashion-MNIST is not installed (Debian package dataset-fashion-mnist); "
                 "training on synthetic 28x28 data instead\n";
    o.dataset = "synthetic";
    o.image_size = 28;
  }
  p.train = data::open_dataset(dataset_spec(o, data::Split::Train));
  p.test = data::open_dataset(dataset_spec(o, data::Split::Test));
  p.spec = model_for(o, *p.train);
  p.placement = plan_stages(o, p.stages, p.spec, o.batch_size / p.micro_batches, &p.balance);
  const Precision precision = precision_of(o, p.placement);
  o.precision = precision_name(precision);  // args.json records what ran

  data::LoaderOptions lo;
  lo.batch_size = o.batch_size * p.replicas;
  lo.shuffle = true;
  lo.seed = o.seed;
  lo.workers = o.workers;
  lo.drop_last = true;  // every step sees a full mini-batch
  lo.augment = true;
  lo.limit = o.limit_train;
  p.loader = std::make_unique<data::Loader>(p.train, lo);
  p.steps_per_epoch = p.loader->batches_per_epoch();
  if (p.steps_per_epoch < 1)
    throw Error("the training set (" + std::to_string(p.loader->samples_per_epoch()) +
                " samples) is smaller than one batch of -b " + std::to_string(o.batch_size) +
                (p.replicas > 1 ? " x " + std::to_string(p.replicas) + " replicas" : ""));

  p.optimizer = optim::optimizer_config(o.optimizer, o.momentum, o.wd, o.nesterov);
  EngineOptions& eo = p.engine;
  eo.policy = parse_weight_policy(o.weight_policy);
  eo.predictor = optim::parse_predictor(o.predictor);
  if (!p.synchronous && forward_predicts(eo.policy) &&
      p.optimizer.kind == optim::OptimizerKind::AdamW && eo.predictor != optim::Predictor::None &&
      eo.predictor != optim::Predictor::Linear)
    throw Error("--predictor " + o.predictor + " with --optimizer " + o.optimizer +
                ": that predictor models SGD with momentum; AdamW predicts with its own update "
                "direction: use --predictor linear (or none)");
  eo.bn_stats = parse_bn_stats(o.bn_stats);
  eo.compute_dtype = compute_dtype(precision);
  eo.decay_norm_and_bias = o.norm_weight_decay;
  eo.label_smoothing = o.label_smoothing;
  eo.quality_every = o.quality_every;
  eo.stop_on_non_finite_loss = true;
  eo.staleness_rules.momentum_max = o.stage_momentum_max;
  eo.staleness_rules.bias_correction = o.momentum_bias_correction;
  eo.staleness_rules.relative_bias_correction = o.relative_bias_correction;
  eo.staleness_rules.warmup_steps = o.stage_lr_warmup_steps;
  eo.staleness_rules.spike = o.spike_compensation;
  eo.staleness_rules.validate(p.optimizer);
  // The schedule's flags are checked here, before the output folder is taken.
  p.schedule = lr_schedule(o, p.steps_per_epoch);
  if (eo.staleness_rules.any()) {
    // The steady state of a run long enough to reach it: pipedream's K-1-r; 0 for the
    // synchronous schedules, whose gradients are never late.
    const int n = p.synchronous ? p.micro_batches : std::max(p.micro_batches, 4 * p.stages);
    eo.stage_staleness = steady_staleness(make_schedule(p.kind, p.stages, n));
  }
  return p;
}

EvalPlan plan_eval(const TrainOptions& o) {
  // Evaluating on random images would print a meaningless accuracy: without the data, say so.
  if (fashion_mnist_missing(o))
    throw Error(std::string("augur eval: Fashion-MNIST is not installed (no ") + kFashionMnistDir +
                "; Debian package dataset-fashion-mnist): give --data-path, or --dataset "
                "synthetic to evaluate on synthetic images");
  EvalPlan p;
  p.test = data::open_dataset(dataset_spec(o, data::Split::Test));
  p.spec = model_for(o, *p.test);
  std::vector<int> balance;
  p.placement = plan_stages(o, o.pp_stages, p.spec, 1, &balance);
  p.compute_dtype = compute_dtype(precision_of(o, p.placement));
  return p;
}

}  // namespace augur
