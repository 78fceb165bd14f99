#include "apps/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>

#include "apps/checkpoint.h"
#include "apps/commands.h"
#include "data/loader.h"
#include "data/open.h"
#include "pipeline/lowering.h"
#include "pipeline/partitioner.h"
#include "pipeline/schedule_generators.h"

namespace augur {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

data::DatasetSpec dataset_spec(const TrainOptions& o, data::Split split) {
  data::DatasetSpec d;
  d.name = o.dataset;
  d.path = o.data_path;
  d.split = split;
  d.image_size = o.image_size;
  d.seed = o.seed;
  if (o.dataset == "synthetic") d.synthetic_samples = split == data::Split::Train ? 20000 : 2000;
  return d;
}

// Fashion-MNIST from Debian's package when it is there; otherwise, for the default run only,
// synthetic data of the same shape (and the run says so).
std::shared_ptr<const data::Dataset> open_or_fallback(TrainOptions* o, data::Split split) {
  if (o->dataset == "fashion-mnist" && o->data_path.empty() &&
      !fs::exists("/usr/share/datasets/fashion-mnist")) {
    std::cerr << "augur: Fashion-MNIST is not installed (Debian package dataset-fashion-mnist); "
                 "training on synthetic 28x28 data instead\n";
    o->dataset = "synthetic";
    o->image_size = 28;
  }
  data::DatasetSpec spec = dataset_spec(*o, split);
  if (o->dataset == "synthetic" && o->image_size == 28) spec.channels = 1;
  return data::open_dataset(spec);
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
std::vector<StagePlacement> plan_stages(const TrainOptions& o, const ModelSpec& spec,
                                        int64_t micro_batch, std::vector<int>* balance) {
  const int K = o.pp_stages;
  std::vector<std::string> unit_names;
  for (const auto& u : spec.units) unit_names.push_back(u.name);
  if (!o.balance.empty())
    *balance = parse_balance(o.balance, static_cast<int>(spec.units.size()), K);
  else if (!o.split_at.empty())
    *balance = parse_split_at(o.split_at, unit_names, K);
  else
    *balance = partition(analytic_unit_costs(spec, micro_batch), K, MemoryModel{});
  const std::vector<Device> devices = stage_devices(o, K);
  std::vector<StagePlacement> placement;
  const auto ranges = stage_ranges(*balance);
  for (int r = 0; r < K; ++r) placement.push_back({ranges[r].first, ranges[r].second, devices[r]});
  return placement;
}

optim::LrSchedule lr_schedule(const TrainOptions& o, int64_t steps_per_epoch) {
  // Options count in epochs, as torchvision's do; the schedule runs per optimizer step, so a
  // cosine or warm-up is smooth within an epoch (which a one-epoch run needs).
  optim::LrScheduleConfig c;
  c.base_lr = o.lr;
  c.decay = optim::parse_lr_decay(o.lr_scheduler);
  c.gamma = o.lr_gamma;
  c.step_size = int64_t(o.lr_step_size) * steps_per_epoch;
  for (const auto& m : split_list(o.lr_milestones))
    c.milestones.push_back(std::stoll(m) * steps_per_epoch);
  if (c.decay == optim::LrDecay::MultiStep && c.milestones.empty())
    throw Error("--lr-scheduler multistep needs --lr-milestones");
  c.warmup =
      o.lr_warmup_epochs > 0 ? optim::parse_lr_warmup(o.lr_warmup_method) : optim::LrWarmup::None;
  c.warmup_units = int64_t(o.lr_warmup_epochs) * steps_per_epoch;
  c.t_max = std::max<int64_t>(1, int64_t(o.epochs - o.lr_warmup_epochs) * steps_per_epoch);
  return optim::LrSchedule(c);
}

// Metrics go to metrics.jsonl (one JSON object a line) and metrics.csv (fixed columns).
class MetricsLog {
 public:
  explicit MetricsLog(const fs::path& dir, bool append)
      : jsonl_(dir / "metrics.jsonl", append ? std::ios::app : std::ios::trunc),
        csv_(dir / "metrics.csv", append ? std::ios::app : std::ios::trunc) {
    if (!jsonl_ || !csv_) throw Error("cannot write metrics in '" + dir.string() + "'");
    if (!append)
      csv_ << "kind,epoch,step,loss,top1,top5,lr,images_per_s,staleness_mean,quality_mean,"
              "utilisation_mean\n";
  }
  void write(const nlohmann::json& j) {
    jsonl_ << j.dump() << "\n";
    jsonl_.flush();
    auto num = [&](const char* k) -> std::string {
      if (!j.contains(k) || j[k].is_null()) return "";
      std::ostringstream os;
      os << j[k].get<double>();
      return os.str();
    };
    csv_ << j.value("kind", "") << "," << j.value("epoch", 0) << "," << j.value("step", 0) << ","
         << num("loss") << "," << num("top1") << "," << num("top5") << "," << num("lr") << ","
         << num("images_per_s") << "," << num("staleness_mean") << "," << num("quality_mean") << ","
         << num("utilisation_mean") << "\n";
    csv_.flush();
  }

 private:
  std::ofstream jsonl_, csv_;
};

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? NAN : s / static_cast<double>(v.size());
}

EvalStats evaluate_split(Engine& engine, std::shared_ptr<const data::Dataset> test,
                         const TrainOptions& o) {
  data::LoaderOptions lo;
  lo.batch_size = std::max(o.batch_size, 64);
  lo.shuffle = false;
  lo.workers = o.workers;
  lo.limit = o.limit_test;
  lo.augment = false;
  data::Loader loader(test, lo);
  loader.start_epoch(0);
  EvalStats total;
  while (auto b = loader.next()) {
    const EvalStats s = engine.evaluate(b->images_view(), b->labels_view());
    total.loss_sum += s.loss_sum;
    total.samples += s.samples;
    total.top1 += s.top1;
    total.top5 += s.top5;
  }
  return total;
}

std::string fmt_duration(double seconds) {
  const int s = static_cast<int>(seconds + 0.5);
  std::ostringstream os;
  os << s / 60 << "m" << std::setw(2) << std::setfill('0') << s % 60 << "s";
  return os.str();
}

}  // namespace

int run_train(const TrainOptions& options, const CLI::App& app) {
  TrainOptions o = options;
  const bool tty = isatty(STDERR_FILENO);
  const ScheduleKind kind = parse_schedule_kind(o.pp_schedule);
  if (kind == ScheduleKind::Sequential && o.pp_stages != 1) {
    if (app.count("--pp-stages"))
      throw Error("--pp-schedule sequential runs one stage, but --pp-stages is " +
                  std::to_string(o.pp_stages));
    o.pp_stages = 1;
  }
  if (!o.balance.empty() && !o.split_at.empty())
    throw Error("--balance and --split-at contradict each other: give one of them");
  const bool sync = is_synchronous(kind);
  if (!sync && app.count("--micro-batches"))
    std::cerr << "augur: note: pipedream steps after every micro-batch of -b " << o.batch_size
              << " samples; --micro-batches does not apply\n";
  const int M = sync ? o.micro_batches : 1;
  if (sync && o.batch_size % M != 0)
    throw Error("-b " + std::to_string(o.batch_size) + " is not divisible by --micro-batches " +
                std::to_string(M));

  auto train = open_or_fallback(&o, data::Split::Train);
  auto test = open_or_fallback(&o, data::Split::Test);
  const data::ImageShape shape = train->image_shape();
  AUGUR_ARG_CHECK(shape.h == shape.w, "the model needs square images, the dataset gives ",
                  shape.str());
  const ModelSpec spec = resnet_spec(
      o.model, {train->num_classes(), static_cast<int>(shape.c), static_cast<int>(shape.h)});
  const int K = o.pp_stages;

  std::vector<int> balance;
  const std::vector<StagePlacement> placement = plan_stages(o, spec, o.batch_size / M, &balance);
  std::vector<Device> devices;
  for (const auto& p : placement) devices.push_back(p.device);

  data::LoaderOptions lo;
  lo.batch_size = o.batch_size;
  lo.shuffle = true;
  lo.seed = o.seed;
  lo.workers = o.workers;
  lo.drop_last = true;  // every step sees a full mini-batch
  lo.augment = true;
  lo.limit = o.limit_train;
  data::Loader loader(train, lo);
  const int64_t steps_per_epoch = loader.batches_per_epoch();
  if (steps_per_epoch < 1)
    throw Error("the training set (" + std::to_string(loader.samples_per_epoch()) +
                " samples) is smaller than one batch of " + std::to_string(o.batch_size));

  const optim::OptimizerConfig oc =
      optim::optimizer_config(o.optimizer, o.momentum, o.wd, o.nesterov);
  EngineOptions eo;
  eo.policy = parse_weight_policy(o.weight_policy);
  eo.predictor = optim::parse_predictor(o.predictor);
  eo.bn_stats = o.bn_stats == "deferred" ? BnStatsMode::Deferred : BnStatsMode::Micro;
  eo.decay_norm_and_bias = o.norm_weight_decay;
  eo.label_smoothing = o.label_smoothing;
  eo.quality_every = o.quality_every;
  TraceWriter trace;
  if (!o.trace.empty()) eo.trace = &trace;

  fs::create_directories(o.output_dir);
  const fs::path out_dir(o.output_dir);
  const std::string args = to_json(o).dump(2);
  {
    std::ofstream a(out_dir / "args.json");
    a << args << "\n";
    if (!a) throw Error("cannot write '" + (out_dir / "args.json").string() + "'");
  }

  // Progress and NaN detection, from the last stage's thread.
  std::mutex progress_mutex;
  double window_loss = 0;
  int64_t window_samples = 0, window_correct = 0, window_steps = 0, step = 0, epoch_index = 0;
  Clock::time_point window_start = Clock::now(), epoch_start = Clock::now();
  std::unique_ptr<MetricsLog> metrics;
  Engine* engine_ptr = nullptr;
  const int64_t mbs_per_step = M;
  int64_t mbs_seen = 0;
  // Per-stage staleness and prediction quality over the current print window.
  std::vector<double> win_stale(static_cast<size_t>(K), 0.0),
      win_quality(static_cast<size_t>(K), 0.0);
  std::vector<int64_t> win_stale_n(static_cast<size_t>(K), 0),
      win_quality_n(static_cast<size_t>(K), 0);
  // Busy time: the engine reports it per run; the window takes differences.
  std::vector<double> busy_now(static_cast<size_t>(K), 0.0),
      busy_at_window(static_cast<size_t>(K), 0.0);
  eo.on_backward = [&](int stage, int, int staleness, double quality, double busy_ms) {
    std::lock_guard<std::mutex> lock(progress_mutex);
    if (busy_ms < busy_now[stage]) busy_at_window[stage] -= busy_now[stage];  // a new run
    busy_now[stage] = busy_ms;
    win_stale[stage] += staleness;
    ++win_stale_n[stage];
    if (std::isfinite(quality)) {
      win_quality[stage] += quality;
      ++win_quality_n[stage];
    }
  };
  eo.on_loss = [&](int mb, float loss, int64_t n, int64_t correct) {
    if (!std::isfinite(loss))
      throw Error("loss became " + std::to_string(loss) + " at epoch " +
                  std::to_string(epoch_index) + ", micro-batch " + std::to_string(mb) +
                  "; training stopped (try a lower --lr); the last checkpoint in '" + o.output_dir +
                  "' is intact");
    std::lock_guard<std::mutex> lock(progress_mutex);
    window_loss += double(loss) * n;
    window_samples += n;
    window_correct += correct;
    if (++mbs_seen % mbs_per_step != 0) return;
    ++step;
    ++window_steps;
    const bool report = step % o.print_freq == 0 || step % steps_per_epoch == 0;
    if (!report) return;
    const double secs = std::chrono::duration<double>(Clock::now() - window_start).count();
    const double ips = window_samples / std::max(secs, 1e-9);
    const int64_t in_epoch = (step - 1) % steps_per_epoch + 1;
    const double eta = (steps_per_epoch - in_epoch) * (secs / std::max<int64_t>(window_steps, 1));
    const double lr = engine_ptr ? engine_ptr->next_lr() : o.lr;
    std::ostringstream line;
    line << "epoch " << epoch_index << " [" << in_epoch << "/" << steps_per_epoch << "] loss "
         << std::fixed << std::setprecision(4) << window_loss / window_samples << " acc "
         << std::setprecision(2) << 100.0 * window_correct / window_samples << "% lr "
         << std::setprecision(5) << lr << " " << std::setprecision(1) << ips << " img/s eta "
         << fmt_duration(eta);
    if (tty)
      std::cerr << "\r" << line.str() << "\033[K" << std::flush;
    else
      std::cerr << line.str() << "\n";
    nlohmann::json rec = {{"kind", "step"},
                          {"epoch", epoch_index},
                          {"step", step},
                          {"loss", window_loss / window_samples},
                          {"top1", 100.0 * window_correct / window_samples},
                          {"lr", lr},
                          {"images_per_s", ips}};
    // Each stage's figures cover the backwards it ran in this window (upstream stages run
    // theirs later than the last stage).
    std::vector<nlohmann::json> stale(static_cast<size_t>(K)), quality(static_cast<size_t>(K));
    std::vector<double> util(static_cast<size_t>(K));
    for (int r = 0; r < K; ++r) {
      util[r] = (busy_now[r] - busy_at_window[r]) / std::max(secs * 1e3, 1e-9);
      busy_at_window[r] = busy_now[r];
      if (win_stale_n[r]) stale[r] = win_stale[r] / win_stale_n[r];
      if (win_quality_n[r]) quality[r] = win_quality[r] / win_quality_n[r];
      win_stale[r] = win_quality[r] = 0;
      win_stale_n[r] = win_quality_n[r] = 0;
    }
    rec["staleness_per_stage"] = stale;
    rec["quality_per_stage"] = quality;
    rec["utilisation_per_stage"] = util;
    metrics->write(rec);
    window_loss = 0;
    window_samples = window_correct = window_steps = 0;
    window_start = Clock::now();
  };

  Engine engine(spec, placement, oc, lr_schedule(o, steps_per_epoch), o.seed, eo);
  engine_ptr = &engine;
  int64_t first_epoch = 0;
  if (!o.resume.empty()) {
    const TrainingState s = load_checkpoint(o.resume, &engine);
    if (s.model != o.model || s.balance != balance_str(balance))
      throw Error("--resume '" + o.resume + "' was written by " + s.model + " split " + s.balance +
                  ", this run is " + o.model + " split " + balance_str(balance));
    first_epoch = s.epoch;
    step = s.steps_done;
    std::cerr << "augur: resumed from '" << o.resume << "' after epoch " << s.epoch << " (step "
              << s.steps_done << ")\n";
  }
  metrics = std::make_unique<MetricsLog>(out_dir, !o.resume.empty());

  std::cerr << "augur: " << o.model << " on " << train->name() << " (" << loader.samples_per_epoch()
            << " samples, " << steps_per_epoch << " steps per epoch), " << schedule_name(kind)
            << " over " << K << " stage" << (K > 1 ? "s" : "") << " [" << balance_str(balance)
            << "] on " << devices.front().str()
            << (sync ? ""
                     : ", weight policy " + o.weight_policy + " with the " + o.predictor +
                           " predictor")
            << "\n";

  const Schedule sync_schedule = sync ? lower(make_schedule(kind, K, M)) : Schedule();
  EvalStats last_eval;
  for (int64_t epoch = first_epoch; epoch < o.epochs; ++epoch) {
    epoch_index = epoch;
    epoch_start = window_start = Clock::now();
    loader.start_epoch(epoch);
    std::vector<std::vector<double>> staleness(static_cast<size_t>(K)),
        quality(static_cast<size_t>(K));
    std::vector<double> busy(static_cast<size_t>(K), 0.0);
    double wall = 0, loss_sum = 0;
    int64_t samples = 0, correct = 0, micro_batches_run = 0;
    auto absorb = [&](const RunStats& rs) {
      wall += rs.wall_ms;
      for (int r = 0; r < K; ++r) {
        for (int s : rs.stages[r].staleness) staleness[r].push_back(s);
        for (double q : rs.stages[r].quality) quality[r].push_back(q);
        busy[r] += rs.stages[r].busy_ms;
      }
      for (float l : rs.losses) loss_sum += l;
      micro_batches_run += static_cast<int64_t>(rs.losses.size());
      samples += rs.samples;
      correct += rs.correct_top1;
    };
    if (sync) {
      while (auto b = loader.next()) {
        const int64_t per = b->size / M;
        RunStats rs = engine.run(sync_schedule, [&](int mb) {
          MicroBatch m;
          m.images = b->images_view().slice_batch(mb * per, per);
          m.labels = b->labels_view().slice_batch(mb * per, per);
          m.keep_alive = b;
          return m;
        });
        absorb(rs);
        if (o.checkpoint_every > 0 && step % o.checkpoint_every == 0)
          save_checkpoint((out_dir / "checkpoint.safetensors").string(), engine,
                          {epoch, step, balance_str(balance), o.model, args});
      }
    } else {
      // PipeDream: the whole epoch is one pipeline run; each micro-batch is a mini-batch.
      const Schedule s = lower(make_schedule(kind, K, static_cast<int>(steps_per_epoch)));
      int expected = 0;
      RunStats rs = engine.run(s, [&](int mb) {
        AUGUR_CHECK(mb == expected, "stage 0 asked for micro-batch ", mb, ", expected ", expected);
        ++expected;
        auto b = loader.next();
        AUGUR_CHECK(b != nullptr, "the loader ran out of batches at ", mb);
        MicroBatch m;
        m.images = b->images_view();
        m.labels = b->labels_view();
        m.keep_alive = b;
        return m;
      });
      absorb(rs);
    }
    if (tty) std::cerr << "\n";
    const double epoch_secs = std::chrono::duration<double>(Clock::now() - epoch_start).count();
    last_eval = evaluate_split(engine, test, o);
    nlohmann::json rec = {
        {"kind", "epoch"},
        {"epoch", epoch},
        {"step", step},
        {"train_loss", loss_sum / std::max<int64_t>(1, micro_batches_run)},
        {"train_top1", 100.0 * correct / std::max<int64_t>(1, samples)},
        {"loss", last_eval.loss_sum / std::max<int64_t>(1, last_eval.samples)},
        {"top1", 100.0 * last_eval.top1 / std::max<int64_t>(1, last_eval.samples)},
        {"top5", 100.0 * last_eval.top5 / std::max<int64_t>(1, last_eval.samples)},
        {"lr", engine.next_lr()},
        {"images_per_s", samples / std::max(epoch_secs, 1e-9)},
        {"epoch_seconds", epoch_secs}};
    std::vector<double> st_mean, q_mean, util;
    for (int r = 0; r < K; ++r) {
      st_mean.push_back(mean(staleness[r]));
      q_mean.push_back(mean(quality[r]));
      util.push_back(busy[r] / std::max(wall, 1e-9));
    }
    rec["staleness_per_stage"] = st_mean;
    rec["quality_per_stage"] = q_mean;
    rec["utilisation_per_stage"] = util;
    std::vector<double> finite_q;
    for (double q : q_mean)
      if (std::isfinite(q)) finite_q.push_back(q);
    rec["staleness_mean"] = mean(st_mean);
    rec["quality_mean"] = finite_q.empty() ? nlohmann::json() : nlohmann::json(mean(finite_q));
    rec["utilisation_mean"] = mean(util);
    metrics->write(rec);
    std::cerr << "epoch " << epoch << " done in " << fmt_duration(epoch_secs) << ": test loss "
              << std::fixed << std::setprecision(4) << rec["loss"].get<double>() << ", top-1 "
              << std::setprecision(2) << rec["top1"].get<double>() << "%, top-5 "
              << rec["top5"].get<double>() << "%\n";
    const TrainingState ts{epoch + 1, step, balance_str(balance), o.model, args};
    save_checkpoint((out_dir / "checkpoint.safetensors").string(), engine, ts);
    save_checkpoint((out_dir / ("model_" + std::to_string(epoch) + ".safetensors")).string(),
                    engine, ts);
  }
  if (!o.trace.empty()) trace.write(o.trace);
  const double top1 = 100.0 * last_eval.top1 / std::max<int64_t>(1, last_eval.samples);
  std::cout << "test accuracy: " << std::fixed << std::setprecision(2) << top1 << "% top-1, "
            << 100.0 * last_eval.top5 / std::max<int64_t>(1, last_eval.samples) << "% top-5 on "
            << last_eval.samples << " test images (" << o.output_dir << ")\n";
  return 0;
}

int run_eval(const TrainOptions& options) {
  TrainOptions o = options;
  auto test = open_or_fallback(&o, data::Split::Test);
  const data::ImageShape shape = test->image_shape();
  const ModelSpec spec = resnet_spec(
      o.model, {test->num_classes(), static_cast<int>(shape.c), static_cast<int>(shape.h)});
  std::vector<int> balance;
  const std::vector<StagePlacement> placement = plan_stages(o, spec, 1, &balance);
  Engine engine(spec, placement, optim::OptimizerConfig{}, optim::LrSchedule::constant(0.1), 0,
                EngineOptions{});
  load_model_weights(o.weights, &engine);
  const EvalStats s = evaluate_split(engine, test, o);
  std::cout << o.model << " (" << o.weights << ") on " << test->name() << ": loss " << std::fixed
            << std::setprecision(4) << s.loss_sum / std::max<int64_t>(1, s.samples) << ", top-1 "
            << std::setprecision(2) << 100.0 * s.top1 / std::max<int64_t>(1, s.samples)
            << "%, top-5 " << 100.0 * s.top5 / std::max<int64_t>(1, s.samples) << "% on "
            << s.samples << " images\n";
  return 0;
}

}  // namespace augur
