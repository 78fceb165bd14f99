#include "apps/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>

#include "apps/checkpoint.h"
#include "apps/metrics_window.h"
#include "apps/training_plan.h"
#include "pipeline/lowering.h"
#include "pipeline/partitioner.h"
#include "pipeline/schedule_generators.h"

namespace augur {

namespace fs = std::filesystem;

namespace {

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? NAN : s / static_cast<double>(v.size());
}

// One epoch's figures, gathered from the engine's runs.
struct EpochStats {
  explicit EpochStats(int stages)
      : staleness(size_t(stages)), quality(size_t(stages)), busy(size_t(stages), 0.0) {}
  std::vector<std::vector<double>> staleness, quality;
  std::vector<double> busy;
  double wall_ms = 0, loss_sum = 0;
  int64_t samples = 0, correct = 0, micro_batches = 0;

  void add(const RunStats& rs) {
    wall_ms += rs.wall_ms;
    for (size_t r = 0; r < rs.stages.size(); ++r) {
      for (int s : rs.stages[r].staleness) staleness[r].push_back(s);
      for (double q : rs.stages[r].quality) quality[r].push_back(q);
      busy[r] += rs.stages[r].busy_ms;
    }
    for (float l : rs.losses) loss_sum += l;
    micro_batches += static_cast<int64_t>(rs.losses.size());
    samples += rs.samples;
    correct += rs.correct_top1;
  }
};

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

MicroBatch whole(const std::shared_ptr<const data::Batch>& b) {
  return {b->images_view(), b->labels_view(), b};
}

// One epoch: synchronous schedules run once per mini-batch (M micro-batches, one step);
// pipedream runs the whole epoch as one pipeline without flushes, a micro-batch per step.
EpochStats run_epoch(Engine& engine, TrainingPlan& p, MetricsWindow& window,
                     const std::function<void()>& after_step) {
  EpochStats stats(p.stages);
  data::Loader& loader = *p.loader;
  if (p.synchronous) {
    const Schedule s = lower(make_schedule(p.kind, p.stages, p.micro_batches));
    while (auto b = loader.next()) {
      const int64_t per = b->size / p.micro_batches;
      stats.add(engine.run(
          s,
          [&](int mb) {
            return MicroBatch{b->images_view().slice_batch(mb * per, per),
                              b->labels_view().slice_batch(mb * per, per), b};
          },
          &window));
      after_step();
    }
    return stats;
  }
  const Schedule s = lower(make_schedule(p.kind, p.stages, static_cast<int>(p.steps_per_epoch)));
  int expected = 0;
  stats.add(engine.run(
      s,
      [&](int mb) {
        AUGUR_CHECK(mb == expected, "stage 0 asked for micro-batch ", mb, ", expected ", expected);
        ++expected;
        auto b = loader.next();
        AUGUR_CHECK(b != nullptr, "the loader ran out of batches at ", mb);
        return whole(b);
      },
      &window));
  return stats;
}

nlohmann::json epoch_record(int64_t epoch, int64_t step, const EpochStats& st, const EvalStats& ev,
                            double lr, double secs) {
  const auto per = [](double a, int64_t n) { return a / double(std::max<int64_t>(1, n)); };
  nlohmann::json rec = {{"kind", "epoch"},
                        {"epoch", epoch},
                        {"step", step},
                        {"train_loss", per(st.loss_sum, st.micro_batches)},
                        {"train_top1", per(100.0 * st.correct, st.samples)},
                        {"loss", per(ev.loss_sum, ev.samples)},
                        {"top1", per(100.0 * ev.top1, ev.samples)},
                        {"top5", per(100.0 * ev.top5, ev.samples)},
                        {"lr", lr},
                        {"images_per_s", st.samples / std::max(secs, 1e-9)},
                        {"epoch_seconds", secs}};
  std::vector<double> st_mean, q_mean, util, finite_q;
  for (size_t r = 0; r < st.busy.size(); ++r) {
    st_mean.push_back(mean(st.staleness[r]));
    q_mean.push_back(mean(st.quality[r]));
    util.push_back(st.busy[r] / std::max(st.wall_ms, 1e-9));
    if (std::isfinite(q_mean.back())) finite_q.push_back(q_mean.back());
  }
  rec["staleness_per_stage"] = st_mean;
  rec["quality_per_stage"] = q_mean;
  rec["utilisation_per_stage"] = util;
  rec["staleness_mean"] = mean(st_mean);
  rec["quality_mean"] = finite_q.empty() ? nlohmann::json() : nlohmann::json(mean(finite_q));
  rec["utilisation_mean"] = mean(util);
  return rec;
}

void write_args(const fs::path& dir, const std::string& args) {
  const fs::path path = dir / "args.json";
  std::ofstream a(path);
  a << args << "\n";
  a.flush();
  if (!a) throw Error("cannot write '" + path.string() + "'");
}

}  // namespace

int run_train(const TrainOptions& options, const CLI::App& app) {
  TrainingPlan p = plan_training(options, app);
  const TrainOptions& o = p.options;
  TraceWriter trace;
  if (!o.trace.empty()) p.engine.trace = &trace;
  const fs::path out_dir(o.output_dir);
  fs::create_directories(out_dir);
  const std::string args = to_json(o).dump(2);
  write_args(out_dir, args);

  const optim::LrSchedule schedule = lr_schedule(o, p.steps_per_epoch);
  Engine engine(p.spec, p.placement, p.optimizer, schedule, o.seed, p.engine);
  int64_t first_epoch = 0, step = 0;
  if (!o.resume.empty()) {
    const TrainingState s = load_checkpoint(o.resume, &engine);
    if (s.model != o.model || s.balance != p.balance_text())
      throw Error("--resume '" + o.resume + "' was written by " + s.model + " split " + s.balance +
                  ", this run is " + o.model + " split " + p.balance_text());
    first_epoch = s.epoch;
    step = s.steps_done;
    std::cerr << "augur: resumed from '" << o.resume << "' after epoch " << s.epoch << " (step "
              << s.steps_done << ")\n";
  }
  MetricsLog metrics(out_dir, !o.resume.empty());
  MetricsWindow window({p.stages, p.micro_batches, p.steps_per_epoch, o.print_freq,
                        static_cast<bool>(isatty(STDERR_FILENO))},
                       &metrics, [&](int64_t k) { return schedule.lr(k); });

  std::cerr << "augur: " << o.model << " on " << p.train->name() << " ("
            << p.loader->samples_per_epoch() << " samples, " << p.steps_per_epoch
            << " steps per epoch), " << schedule_name(p.kind) << " over " << p.stages << " stage"
            << (p.stages > 1 ? "s" : "") << " [" << p.balance_text() << "] on "
            << p.placement.front().device.str()
            << (p.synchronous ? ""
                              : ", weight policy " + o.weight_policy + " with the " + o.predictor +
                                    " predictor")
            << "\n";

  const std::string checkpoint = (out_dir / "checkpoint.safetensors").string();
  EvalStats last_eval;
  for (int64_t epoch = first_epoch; epoch < o.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    p.loader->start_epoch(epoch);
    window.start_epoch(epoch, step);
    EpochStats stats(p.stages);
    try {
      stats = run_epoch(engine, p, window, [&] {
        if (o.checkpoint_every > 0 && window.steps_done() % o.checkpoint_every == 0)
          save_checkpoint(checkpoint, engine,
                          {epoch, window.steps_done(), p.balance_text(), o.model, args});
      });
    } catch (const NonFiniteLoss& e) {
      throw Error("loss became " + std::to_string(e.loss) + " at epoch " + std::to_string(epoch) +
                  ", micro-batch " + std::to_string(e.micro_batch) +
                  "; training stopped (try a lower --lr); the last checkpoint in '" + o.output_dir +
                  "' is intact");
    }
    step = window.steps_done();
    if (isatty(STDERR_FILENO)) std::cerr << "\n";  // end the progress line
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    last_eval = evaluate_split(engine, p.test, o);
    const nlohmann::json rec = epoch_record(epoch, step, stats, last_eval, engine.next_lr(), secs);
    metrics.write(rec);
    std::cerr << "epoch " << epoch << " done in " << format_duration(secs) << ": test loss "
              << std::fixed << std::setprecision(4) << rec["loss"].get<double>() << ", top-1 "
              << std::setprecision(2) << rec["top1"].get<double>() << "%, top-5 "
              << rec["top5"].get<double>() << "%\n";
    const TrainingState ts{epoch + 1, step, p.balance_text(), o.model, args};
    save_checkpoint(checkpoint, engine, ts);
    save_checkpoint((out_dir / ("model_" + std::to_string(epoch) + ".safetensors")).string(),
                    engine, ts);
  }
  if (!o.trace.empty()) trace.write(o.trace);
  const double n = double(std::max<int64_t>(1, last_eval.samples));
  std::cout << "test accuracy: " << std::fixed << std::setprecision(2) << 100.0 * last_eval.top1 / n
            << "% top-1, " << 100.0 * last_eval.top5 / n << "% top-5 on " << last_eval.samples
            << " test images (" << o.output_dir << ")\n";
  return 0;
}

int run_eval(const TrainOptions& o) {
  const EvalPlan p = plan_eval(o);
  Engine engine(p.spec, p.placement, optim::OptimizerConfig{}, optim::LrSchedule::constant(0.1), 0,
                EngineOptions{});
  load_model_weights(o.weights, &engine);
  const EvalStats s = evaluate_split(engine, p.test, o);
  const double n = double(std::max<int64_t>(1, s.samples));
  std::cout << o.model << " (" << o.weights << ") on " << p.test->name() << ": loss " << std::fixed
            << std::setprecision(4) << s.loss_sum / n << ", top-1 " << std::setprecision(2)
            << 100.0 * s.top1 / n << "%, top-5 " << 100.0 * s.top5 / n << "% on " << s.samples
            << " images\n";
  return 0;
}

}  // namespace augur
