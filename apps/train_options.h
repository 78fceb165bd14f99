// The options of `augur train` and `augur eval`, named as in torchvision's reference trainer
// where they overlap, plus the pipeline's. `--config run.toml` supplies the same options
// from a file; the resolved values are written to args.json.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace augur {

struct TrainOptions {
  // Model and data.
  std::string model = "resnet20";
  std::string dataset = "fashion-mnist";
  std::string data_path;  // empty: the dataset's default location
  int image_size = 0;     // imagefolder crops / synthetic images; 0: the dataset's default
  int64_t limit_train = 0, limit_test = 0;
  int workers = 2;
  // Optimisation.
  int batch_size = 64;  // samples per optimizer step
  int epochs = 1;
  std::string optimizer = "sgd";
  double lr = 0.05, momentum = 0.9, wd = 5e-4;
  bool nesterov = false;
  bool norm_weight_decay = true;  // false: BN and bias parameters get no weight decay
  std::string lr_scheduler = "cosine";
  int lr_step_size = 30;
  double lr_gamma = 0.1;
  std::string lr_milestones;  // multistep: "30,60,80" (epochs)
  int lr_warmup_epochs = 0;
  std::string lr_warmup_method = "linear";
  double label_smoothing = 0;
  uint64_t seed = 0;
  // Pipeline.
  std::string pp_schedule = "pipedream";
  int pp_stages = 4;
  int dp_replicas = 0;  // 0: the launched processes / pp_stages
  int micro_batches = 4;
  std::string devices;  // "cpu,cpu,cuda:0,..." one per stage, or one for all
  std::string device;   // all stages on this device (default: cuda:0 if present, else cpu)
  std::string balance, split_at;
  std::string precision = "auto";  // auto, fp32, tf32 or bf16 (apps/precision.h)
  // GPU convolution algorithms: cuDNN's heuristic choice (reproducible from run to run, so a
  // resumed run ends bit for bit as the uninterrupted one), or timed per shape once
  // (--cudnn-benchmark, PyTorch's benchmark mode); deterministic ones unless --nondeterministic.
  bool cudnn_benchmark = false;
  bool nondeterministic = false;
  std::string weight_policy = "predict";
  std::string predictor = "nesterov";
  std::string bn_stats = "micro";
  int quality_every = 20;
  // Staleness compensation by stage (optim/staleness_rules.h).
  double stage_momentum_max = 0;  // 0: every stage at --momentum
  bool momentum_bias_correction = false;
  bool relative_bias_correction = false;
  int64_t stage_lr_warmup_steps = 0;
  bool spike_compensation = false;
  int bn_recalibrate = 0;  // also evaluate with BatchNorm re-estimated over N batches
  // A diagnostic: pipedream's last N epochs run as 1f1b with --micro-batches micro-batches
  // (the same engine and optimizer; only the staleness goes).
  int sync_cooldown_epochs = 0;
  // Output.
  std::string output_dir = "runs/default";
  std::string resume;
  bool overwrite = false;  // replace the run already in --output-dir
  std::string trace;
  int print_freq = 50;
  int checkpoint_every = 0;  // also checkpoint every N optimizer steps (pipedream: segments)
  // augur eval
  std::string weights;
};

void add_train_options(CLI::App* app, TrainOptions* options, bool for_eval);
nlohmann::json to_json(const TrainOptions& options);

}  // namespace augur
