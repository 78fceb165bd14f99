#include "apps/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "apps/checkpoint.h"
#include "apps/cluster.h"
#include "apps/graceful_stop.h"
#include "apps/metrics_window.h"
#include "apps/output_dir.h"
#include "apps/training_plan.h"
#include "pipeline/lowering.h"
#include "pipeline/partitioner.h"
#include "pipeline/schedule_generators.h"
#include "runtime/output_file.h"

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

// A loader that reads the first `limit` samples of a split (0: all) once, in order and
// unaugmented: evaluation and BatchNorm re-estimation.
data::LoaderOptions in_order(const TrainOptions& o, int64_t batch_size, int64_t limit) {
  data::LoaderOptions lo;
  lo.batch_size = batch_size;
  lo.shuffle = false;
  lo.workers = o.workers;
  lo.limit = limit;
  lo.augment = false;
  return lo;
}

EvalStats evaluate_split(Engine& engine, std::shared_ptr<const data::Dataset> test,
                         const TrainOptions& o) {
  data::Loader loader(test, in_order(o, std::max<int64_t>(o.batch_size, 64), o.limit_test));
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

// Test figures with every BatchNorm's running statistics re-estimated from the first `batches`
// training batches (in order, unaugmented) under the current weights; the statistics the run
// gathered are put back afterwards, so training and checkpoints do not see this.
EvalStats recalibrated_eval(Engine& engine, std::shared_ptr<const data::Dataset> train,
                            std::shared_ptr<const data::Dataset> test, const TrainOptions& o) {
  data::LoaderOptions lo = in_order(o, o.batch_size, int64_t(o.bn_recalibrate) * o.batch_size);
  lo.drop_last = true;  // whole batches, as training sees
  data::Loader loader(train, lo);
  loader.start_epoch(0);
  std::vector<std::shared_ptr<const data::Batch>> kept;
  std::vector<TensorView> images;
  while (auto b = loader.next()) {
    images.push_back(b->images_view());
    kept.push_back(std::move(b));
  }
  const auto weights = engine.weights();
  const auto states = engine.states();
  engine.recalibrate_batchnorm(images);
  const EvalStats ev = evaluate_split(engine, test, o);
  engine.set_weights(weights, states);
  return ev;
}

MicroBatch whole(const std::shared_ptr<const data::Batch>& b) {
  return {b->images_view(), b->labels_view(), b};
}

std::string host_name() {
  char name[256] = {};
  return gethostname(name, sizeof name - 1) == 0 ? name : "";
}

// One trace from every rank's part (its trace, host, clock origin and barrier time). On one
// machine the ranks share the monotonic clock, so their times line up exactly (counted from
// rank 0's barrier); across machines each rank counts from its own exit of the start-up
// barrier, as close as that barrier's skew.
nlohmann::json job_trace(const std::vector<std::string>& parts) {
  std::vector<nlohmann::json> traces, info;
  for (const std::string& text : parts) {
    info.push_back(nlohmann::json::parse(text));
    traces.push_back(std::move(info.back()["trace"]));
  }
  bool one_host = true;
  for (const auto& r : info) one_host &= r["host"] == info[0]["host"];
  std::vector<double> shifts;
  for (const auto& r : info) {
    const double barrier = r["barrier_us"].get<double>();
    shifts.push_back(one_host ? r["clock_origin_us"].get<double>() -
                                    info[0]["clock_origin_us"].get<double>() -
                                    info[0]["barrier_us"].get<double>()
                              : -barrier);
  }
  return TraceWriter::merge(traces, shifts);
}

// One epoch from batch `first_batch` (the loader already there): synchronous schedules run
// once per mini-batch (M micro-batches, one step); pipedream runs the epoch as one pipeline
// without flushes, a micro-batch per step, or as segments of `segment` steps counted from the
// epoch's start, the pipeline drained at each segment's end (there a checkpoint holds all the
// next step needs, so a run resumed from it goes on exactly as the uninterrupted one).
// `at_boundary` runs after each step or segment; false stops the epoch there.
EpochStats run_epoch(Engine& engine, TrainingPlan& p, MetricsWindow& window, int64_t first_batch,
                     int64_t segment, const std::function<bool()>& at_boundary) {
  EpochStats stats(p.stages);
  data::Loader& loader = *p.loader;
  if (p.synchronous) {
    const Schedule s = lower(make_schedule(p.kind, p.stages, p.micro_batches));
    while (auto b = loader.next()) {
      // This replica's micro-batches of the batch (all of it with one replica).
      const int64_t per = b->size / (p.micro_batches * p.replicas);
      const int64_t first = int64_t(p.replica) * p.micro_batches;
      stats.add(engine.run(
          s,
          [&](int mb) {
            return MicroBatch{b->images_view().slice_batch((first + mb) * per, per),
                              b->labels_view().slice_batch((first + mb) * per, per), b};
          },
          &window));
      if (!at_boundary()) break;
    }
    return stats;
  }
  std::map<int64_t, Schedule> lowered;  // by segment length
  for (int64_t at = first_batch; at < p.steps_per_epoch;) {
    const int64_t end = std::min(p.steps_per_epoch, (at / segment + 1) * segment);
    const int n = static_cast<int>(end - at);
    auto it = lowered.find(n);
    if (it == lowered.end())
      it = lowered.emplace(n, lower(make_schedule(p.kind, p.stages, n))).first;
    int expected = 0;
    stats.add(engine.run(
        it->second,
        [&](int mb) {
          AUGUR_CHECK(mb == expected, "stage 0 asked for micro-batch ", mb, ", expected ",
                      expected);
          ++expected;
          auto b = loader.next();
          AUGUR_CHECK(b != nullptr, "the loader ran out of batches at ", at + mb);
          if (p.replicas == 1) return whole(b);
          const int64_t per = b->size / p.replicas;  // this replica's share
          return MicroBatch{b->images_view().slice_batch(p.replica * per, per),
                            b->labels_view().slice_batch(p.replica * per, per), b};
        },
        &window));
    at = end;
    if (!at_boundary()) break;
  }
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
  write_file_atomically(path.string(), args + "\n");
}

// A multi-process run's figures of one epoch, as this rank saw them (its stage's staleness,
// quality and busy time; the losses where it holds the last stage).
nlohmann::json epoch_share(const EpochStats& st, int stage, bool last) {
  const size_t r = static_cast<size_t>(stage);
  nlohmann::json j = {{"stage", stage},
                      {"staleness", st.staleness[r]},
                      {"quality", st.quality[r]},
                      {"busy", st.busy[r]},
                      {"wall_ms", st.wall_ms},
                      {"loss_sum", 0.0},
                      {"samples", 0},
                      {"correct", 0},
                      {"micro_batches", 0}};
  if (last) {  // elsewhere the losses are NaN placeholders: the last stage computed them
    j["loss_sum"] = st.loss_sum;
    j["samples"] = st.samples;
    j["correct"] = st.correct;
    j["micro_batches"] = st.micro_batches;
  }
  return j;
}

double double_of(const nlohmann::json& x) {
  return x.is_null() ? NAN : x.get<double>();
}

// JSON writes NaN (a quality sample with nothing to compare) as null.
std::vector<double> doubles_of(const nlohmann::json& j) {
  std::vector<double> v;
  for (const auto& x : j) v.push_back(double_of(x));
  return v;
}

// Rank 0's view of the whole epoch from every rank's share.
EpochStats merge_epoch(const std::vector<std::string>& shares, int stages) {
  EpochStats all(stages);
  for (const std::string& text : shares) {
    const auto j = nlohmann::json::parse(text);
    const size_t r = j["stage"].get<size_t>();
    all.staleness[r] = doubles_of(j["staleness"]);
    all.quality[r] = doubles_of(j["quality"]);
    all.busy[r] = double_of(j["busy"]);
    all.wall_ms = std::max(all.wall_ms, double_of(j["wall_ms"]));
    all.loss_sum += double_of(j["loss_sum"]);
    all.samples += j["samples"].get<int64_t>();
    all.correct += j["correct"].get<int64_t>();
    all.micro_batches += j["micro_batches"].get<int64_t>();
  }
  return all;
}

// One stage's arenas as bytes: weights, state, both optimizer arenas, the last gradient, and
// the step count, for rank 0 to assemble the whole model.
std::string pack_stage(const Engine& e, int stage) {
  const size_t r = static_cast<size_t>(stage);
  std::string out;
  auto put = [&](const std::vector<float>& v) {
    const uint64_t n = v.size();
    out.append(reinterpret_cast<const char*>(&n), sizeof n);
    if (n > 0) out.append(reinterpret_cast<const char*>(v.data()), n * sizeof(float));
  };
  put(e.weights()[r]);
  put(e.states()[r]);
  put(e.optimizer_state(0)[r]);
  put(e.optimizer_state(1)[r]);
  put(e.last_gradients()[r]);
  const int64_t steps = e.steps_done(stage);
  out.append(reinterpret_cast<const char*>(&steps), sizeof steps);
  return out;
}

// Rank 0: every stage's arenas into the one-process engine `whole`. With replicas, the
// weights and optimizer state are replica 0's (every replica holds the same bits) and the
// BatchNorm running statistics, which each replica gathered from its own data, are averaged.
void unpack_stages(const std::vector<std::string>& packs, int stages, int replicas, Engine* whole) {
  std::vector<std::vector<std::vector<float>>> parts(
      5, std::vector<std::vector<float>>(static_cast<size_t>(stages)));
  int64_t steps = 0;
  for (size_t rank = 0; rank < packs.size(); ++rank) {
    const size_t stage = rank / static_cast<size_t>(replicas);
    const size_t replica = rank % static_cast<size_t>(replicas);
    const std::string& b = packs[rank];
    size_t at = 0;
    auto get = [&](std::vector<float>* v) {
      uint64_t n = 0;
      AUGUR_CHECK(at + sizeof n <= b.size(), "rank ", rank, " sent a short stage");
      std::memcpy(&n, b.data() + at, sizeof n);
      at += sizeof n;
      AUGUR_CHECK(at + n * sizeof(float) <= b.size(), "rank ", rank, " sent a short stage");
      v->resize(n);
      if (n > 0) std::memcpy(v->data(), b.data() + at, n * sizeof(float));
      at += n * sizeof(float);
    };
    // rank = stage x R + replica
    std::vector<std::vector<float>> mine(parts.size());
    for (auto& m : mine) get(&m);
    AUGUR_CHECK(at + sizeof steps <= b.size(), "rank ", rank, " sent a short stage");
    std::memcpy(&steps, b.data() + at, sizeof steps);
    if (replica == 0) {
      for (size_t k = 0; k < parts.size(); ++k) parts[k][stage] = std::move(mine[k]);
    } else {
      std::vector<float>& state = parts[1][stage];
      AUGUR_CHECK(state.size() == mine[1].size(), "rank ", rank, " sent ", mine[1].size(),
                  " state values for stage ", stage, ", replica 0 ", state.size());
      for (size_t i = 0; i < state.size(); ++i) state[i] += mine[1][i];
    }
  }
  if (replicas > 1)
    for (auto& state : parts[1])
      for (float& v : state) v /= static_cast<float>(replicas);
  whole->set_weights(parts[0], parts[1]);
  whole->set_optimizer_state(0, parts[2], steps);
  whole->set_optimizer_state(1, parts[3], steps);
  whole->set_last_gradients(parts[4]);
}

// A rank's stage from a one-process engine (the checkpoint a multi-process run resumes).
void take_stage(const Engine& whole, int stage, Engine* mine) {
  mine->set_weights(whole.weights(), whole.states());
  const int64_t steps = whole.steps_done(stage);
  mine->set_optimizer_state(0, whole.optimizer_state(0), steps);
  mine->set_optimizer_state(1, whole.optimizer_state(1), steps);
  mine->set_last_gradients(whole.last_gradients());
}

int train(TrainingPlan& p, const Cluster* cluster);

// Writes `line` to stderr in as few write(2) calls as the kernel allows (one, below the pipe's
// atomic size), so another process sharing the stream cannot land inside it.
void write_stderr_whole(const std::string& line) {
  std::cerr.flush();
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n <= 0) return;  // nothing better to do with a broken stderr while aborting
    done += static_cast<size_t>(n);
  }
}

}  // namespace

int run_train(const TrainOptions& options, const CLI::App& app) {
  const LaunchEnv env = read_launch_env();
  const int stages =
      parse_schedule_kind(options.pp_schedule) == ScheduleKind::Sequential ? 1 : options.pp_stages;
  const int replicas = replicas_for(env, stages, options.dp_replicas);
  TrainingPlan p = plan_training(options, app, replicas);
  // Each rank binds one device: --devices/--device if given, else cuda:LOCAL_RANK where the
  // plan chose a GPU. The device decides the transport (NCCL on GPUs, MPI on CPUs).
  Device device = Device::cpu();
  if (env.multi_process()) {
    const RankPlace place = place_of(env.rank, env.world_size, p.stages, replicas);
    StagePlacement& mine = p.placement[static_cast<size_t>(place.stage)];
    if (options.devices.empty() && options.device.empty() && mine.device.is_cuda())
      mine.device = Device::cuda(env.local_rank);
    device = mine.device;
  }
  const std::unique_ptr<Cluster> cluster =
      Cluster::join(env, p.stages, p.options.dp_replicas, device);
  if (cluster) p.replica = cluster->replica();
  if (!cluster) return train(p, nullptr);
  try {
    return train(p, cluster.get());
  } catch (const std::exception& e) {
    // Every rank stops: the launcher ends the others when this one aborts, so nobody waits
    // for its messages until the watchdog. Files are only ever replaced whole (rank 0's
    // checkpoints), so the last one stays intact.
    // One write(2) of the whole line: std::cerr writes each piece separately, and the
    // launcher's own abort banner landed between the pieces (seen in CI).
    const std::string line = "augur: rank " + std::to_string(cluster->rank()) + " (stage " +
                             std::to_string(cluster->stage()) + ", replica " +
                             std::to_string(cluster->replica()) + ") failed: " + e.what() + "\n";
    write_stderr_whole(line);
    cluster->abort(1);
  }
}

namespace {

int train(TrainingPlan& p, const Cluster* cluster) {
  const TrainOptions& o = p.options;
  const bool writes = !cluster || cluster->root();  // only rank 0 writes files
  if (cluster && o.sync_cooldown_epochs > 0)
    throw Error(
        "--sync-cooldown-epochs runs in one process: its 1f1b micro-batches have "
        "another shape than pipedream's, and a multi-process pipeline fixes the shape "
        "of its messages at the start");
  if (cluster) {
    p.engine.local_stages = {cluster->stage()};
    p.engine.transport = cluster->transport();
    // Every micro-batch has one shape (the loader drops the last partial batch), so each
    // receive knows its message's size ahead, as NCCL needs (and MPI checks).
    const ResNetOptions& img = p.spec.options;
    p.engine.micro_batch_input = Shape::nhwc(o.batch_size / p.micro_batches, img.image_size,
                                             img.image_size, img.in_channels);
    if (cluster->root()) std::cerr << "augur: " << cluster->layout() << "\n";
  }
  TraceWriter trace;
  double barrier_us = 0;  // when this rank left the start-up barrier (trace time)
  if (!o.trace.empty()) {
    p.engine.trace = &trace;
    if (cluster) {
      // One trace for the job: every rank's tracks (pid = rank), merged by rank 0 at the end
      // onto one time line (job_trace).
      p.engine.trace_replica = cluster->replica();
      p.engine.trace_replicas = cluster->replicas();
      cluster->barrier();
      barrier_us = TraceWriter::now_us();
    }
  }
  // Rank 0 claims the folder before any work: the run's files go nowhere another run keeps
  // its own, and no second run writes there while this one does.
  std::unique_ptr<OutputDir> claimed;
  if (writes) {
    claimed = std::make_unique<OutputDir>(OutputDir::claim(
        o.output_dir, o.output_dir == TrainOptions{}.output_dir, !o.resume.empty(), o.overwrite));
    p.options.output_dir = claimed->path().string();
  }
  const fs::path out_dir(o.output_dir);
  const std::string args = to_json(o).dump(2);
  if (writes) write_args(out_dir, args);

  const optim::LrSchedule& schedule = p.schedule;
  Engine engine(p.spec, p.placement, p.optimizer, schedule, o.seed, p.engine);
  // The whole model in this process, for a multi-process run's evaluation and checkpoints
  // on rank 0 and its resumption on every rank; built when first needed.
  std::unique_ptr<Engine> whole_engine;
  EngineOptions whole_options;  // it evaluates as the stages compute
  whole_options.compute_dtype = p.engine.compute_dtype;
  auto whole = [&]() -> Engine& {
    if (!whole_engine)
      whole_engine = std::make_unique<Engine>(p.spec, p.placement, p.optimizer, schedule, o.seed,
                                              whole_options);
    return *whole_engine;
  };
  // The engine that evaluates and is checkpointed: this one, or for a multi-process run
  // rank 0's assembly of every rank's stage (collective: every rank calls it).
  auto assembled = [&]() -> Engine* {
    if (!cluster) return &engine;
    const auto packs = cluster->gather(pack_stage(engine, cluster->stage()));
    if (!cluster->root()) return nullptr;
    unpack_stages(packs, p.stages, cluster->replicas(), &whole());
    return &whole();
  };
  int64_t first_epoch = 0, step = 0;
  if (!o.resume.empty()) {
    Engine* into = cluster ? &whole() : &engine;
    const TrainingState s = load_checkpoint(o.resume, into);
    if (cluster) take_stage(*into, cluster->stage(), &engine);
    if (s.model != o.model || s.balance != p.balance_text())
      throw Error("--resume '" + o.resume + "' was written by " + s.model + " split " + s.balance +
                  ", this run is " + o.model + " split " + p.balance_text());
    // The training state must fit this run before it is trusted with the next step.
    if (s.epoch >= o.epochs)
      throw Error("--resume '" + o.resume + "' has completed " + std::to_string(s.epoch) +
                  " epochs, and --epochs is " + std::to_string(o.epochs) +
                  ": nothing is left to train (raise --epochs to go on)");
    const int64_t spe = p.steps_per_epoch;
    if (s.steps_done < s.epoch * spe || s.steps_done > (s.epoch + 1) * spe)
      throw Error("--resume '" + o.resume + "': its " + std::to_string(s.steps_done) +
                  " steps do not fit epoch " + std::to_string(s.epoch) + " of " +
                  std::to_string(spe) +
                  " steps each (written with another -b, --limit-train "
                  "or data set?)");
    first_epoch = s.epoch;
    step = s.steps_done;
    if (writes)
      std::cerr << "augur: resumed from '" << o.resume << "' at epoch " << s.epoch << ", step "
                << s.steps_done << "\n";
  }
  if (writes) {
    // Each checkpoint point writes checkpoint.safetensors beside the old one (replaced only
    // once the new one is whole) and at an epoch's end also model_<epoch>.safetensors.
    const uint64_t ckpt =
        checkpoint_bytes(cluster ? whole() : engine, {0, 0, p.balance_text(), o.model, args});
    check_free_space(out_dir, 2 * ckpt, "an epoch's checkpoint and model file");
  }
  std::unique_ptr<MetricsLog> metrics_file =
      writes ? std::make_unique<MetricsLog>(out_dir, !o.resume.empty()) : nullptr;
  // Under a launcher every rank's window keeps its records, which rank 0 merges and writes.
  MetricsLog kept;
  MetricsLog& metrics = writes ? *metrics_file : kept;
  MetricsWindow::Settings ws{p.stages, p.micro_batches, p.steps_per_epoch, o.print_freq,
                             static_cast<bool>(isatty(STDERR_FILENO))};
  if (cluster) {
    // Every rank's window reports at the same steps; replica 0's last stage prints.
    const bool last = cluster->stage() == p.stages - 1;
    if (!last) ws.counting_stage = cluster->stage();
    ws.print = last && cluster->replica() == 0;
  }
  MetricsWindow window(ws, cluster ? &kept : &metrics, [&](int64_t k) { return schedule.lr(k); });

  if (writes)
    std::cerr << "augur: " << o.model << " on " << p.train->name() << " ("
              << p.loader->samples_per_epoch() << " samples, " << p.steps_per_epoch
              << " steps per epoch), " << schedule_name(p.kind) << " over " << p.stages << " stage"
              << (p.stages > 1 ? "s" : "") << " [" << p.balance_text() << "] on "
              << p.placement.front().device.str() << " in " << o.precision
              << (p.synchronous ? ""
                                : ", weight policy " + o.weight_policy + " with the " +
                                      o.predictor + " predictor")
              << "\n";
  if (writes && p.engine.staleness_rules.any()) {
    // What each stage runs with, so a study's log shows the rule as applied.
    std::cerr << "augur: staleness rules: " << p.engine.staleness_rules.str() << "; per stage";
    for (int r = 0; r < p.stages; ++r) {
      const int s = p.engine.stage_staleness[static_cast<size_t>(r)];
      const optim::StageOptimizer so =
          optim::stage_optimizer(p.optimizer, schedule, p.engine.staleness_rules, s, p.stages);
      std::cerr << (r ? "," : "") << " s=" << s << " mu=" << so.config.sgd.momentum
                << " lr(0)=" << so.schedule.lr(0);
    }
    std::cerr << "\n";
  }

  const std::string checkpoint = (out_dir / "checkpoint.safetensors").string();
  // SIGINT/SIGTERM stop at the next checkpoint point (one process only: see graceful_stop.h).
  std::unique_ptr<GracefulStop> graceful = cluster ? nullptr : std::make_unique<GracefulStop>();
  const auto stopped_message = [&](int64_t epoch, int64_t at_step) {
    std::cerr << "augur: stopped by "
              << (GracefulStop::requested() == SIGINT ? "SIGINT" : "SIGTERM") << " in epoch "
              << epoch << " after step " << at_step << "; checkpoint '" << checkpoint
              << "'; to go on, run the same command with --resume " << checkpoint << "\n";
    return 128 + GracefulStop::requested();
  };
  // Pipedream drains its pipeline only where a checkpoint may be taken: every
  // --checkpoint-every steps, else at the epoch's end.
  const int64_t segment = o.checkpoint_every > 0 ? o.checkpoint_every : p.steps_per_epoch;
  EvalStats last_eval;
  for (int64_t epoch = first_epoch; epoch < o.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    if (o.sync_cooldown_epochs > 0 && epoch >= o.epochs - o.sync_cooldown_epochs &&
        !p.synchronous) {
      // The synchronous cool-down: the same engine (weights, optimizer state, each stage's
      // momentum and learning rate) runs 1f1b from here, one step per mini-batch of M
      // micro-batches as pipedream's one step per micro-batch of -b samples, so the steps
      // and the lr schedule go on as before; only the staleness goes. An epoch's start is a
      // drained pipeline, so nothing in flight crosses over; a resumed run switches here too.
      p.kind = ScheduleKind::OneFOneB;
      p.synchronous = true;
      p.micro_batches = o.micro_batches;
      window.set_micro_batches_per_step(p.micro_batches);
      if (writes)
        std::cerr << "augur: epochs " << epoch << "-" << o.epochs - 1
                  << ": synchronous cool-down, 1f1b with " << p.micro_batches << " micro-batches\n";
    }
    // A checkpoint taken inside an epoch resumes at its next batch (the loader serves the
    // same batches, augmented the same, as in an uninterrupted epoch).
    const int64_t first_batch = epoch == first_epoch ? step - epoch * p.steps_per_epoch : 0;
    p.loader->start_epoch(epoch, first_batch);
    window.start_epoch(epoch, step);
    EpochStats stats(p.stages);
    bool stopped = false;
    try {
      stats = run_epoch(engine, p, window, first_batch, segment, [&] {
        const int64_t done = window.steps_done();
        if (done == (epoch + 1) * p.steps_per_epoch) return true;  // the epoch's end: below
        const bool stop = GracefulStop::requested() != 0;
        const bool due =
            o.checkpoint_every > 0 && (!p.synchronous || done % o.checkpoint_every == 0);
        if (due || stop)
          if (Engine* e = assembled())
            save_checkpoint(checkpoint, *e, {epoch, done, p.balance_text(), o.model, args});
        stopped = stop;
        return !stop;
      });
    } catch (const NonFiniteLoss& e) {
      throw Error("loss became " + std::to_string(e.loss) + " at epoch " + std::to_string(epoch) +
                  ", micro-batch " + std::to_string(e.micro_batch) +
                  "; training stopped (try a lower --lr); the last checkpoint in '" + o.output_dir +
                  "' is intact");
    }
    step = window.steps_done();
    if (isatty(STDERR_FILENO) && ws.print)
      std::cerr << "\n";  // end the progress line (printed where the losses are)
    if (stopped) return stopped_message(epoch, step);
    if (cluster) {
      // Rank 0 writes what the others saw: the window's records (from the last stage) and
      // every stage's share of the epoch's figures. Steps are counted from the losses, so
      // they come from the last stage too.
      const auto windows = cluster->gather(kept.take_kept());
      const auto shares = cluster->gather(
          epoch_share(stats, cluster->stage(), cluster->stage() == p.stages - 1).dump());
      const auto steps = cluster->gather(std::to_string(window.steps_done()));
      if (cluster->root()) {
        // The progress records: every stage's figures, over every replica.
        for (const nlohmann::json& rec : merge_step_records(windows, p.stages, cluster->replicas()))
          metrics.write(rec);
        stats = merge_epoch(shares, p.stages);
        step = std::stoll(steps.back());
      }
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    Engine* model = assembled();
    const TrainingState ts{epoch + 1, step, p.balance_text(), o.model, args};
    if (!model) continue;  // rank 0 evaluates and writes the checkpoints
    last_eval = evaluate_split(*model, p.test, o);
    nlohmann::json rec = epoch_record(epoch, step, stats, last_eval, model->next_lr(), secs);
    rec["schedule"] = schedule_name(p.kind);  // which epochs a cool-down ran synchronously
    std::string recalibrated;
    if (o.bn_recalibrate > 0) {
      const EvalStats re = recalibrated_eval(*model, p.train, p.test, o);
      const double n = double(std::max<int64_t>(1, re.samples));
      rec["loss_recalibrated"] = re.loss_sum / n;
      rec["top1_recalibrated"] = 100.0 * re.top1 / n;
      rec["top5_recalibrated"] = 100.0 * re.top5 / n;
      std::ostringstream os;
      os << std::fixed << std::setprecision(2) << "; BatchNorm re-estimated over "
         << o.bn_recalibrate << " batches: top-1 " << 100.0 * re.top1 / n << "%";
      recalibrated = os.str();
    }
    metrics.write(rec);
    std::cerr << "epoch " << epoch << " done in " << format_duration(secs) << ": test loss "
              << std::fixed << std::setprecision(4) << rec["loss"].get<double>() << ", top-1 "
              << std::setprecision(2) << rec["top1"].get<double>() << "%, top-5 "
              << rec["top5"].get<double>() << "%" << recalibrated << "\n";
    save_checkpoint(checkpoint, *model, ts);
    save_checkpoint((out_dir / ("model_" + std::to_string(epoch) + ".safetensors")).string(),
                    *model, ts);
    if (GracefulStop::requested() && epoch + 1 < o.epochs) return stopped_message(epoch, step);
  }
  if (!o.trace.empty()) {
    if (!cluster) {
      trace.write(o.trace);
    } else {
      const nlohmann::json part = {{"trace", trace.to_json()},
                                   {"host", host_name()},
                                   {"clock_origin_us", TraceWriter::clock_origin_us()},
                                   {"barrier_us", barrier_us}};
      const std::vector<std::string> parts = cluster->gather(part.dump());
      if (cluster->root()) TraceWriter::write(job_trace(parts), o.trace);
    }
  }
  if (!writes) return 0;
  const double n = double(std::max<int64_t>(1, last_eval.samples));
  std::cout << "test accuracy: " << std::fixed << std::setprecision(2) << 100.0 * last_eval.top1 / n
            << "% top-1, " << 100.0 * last_eval.top5 / n << "% top-5 on " << last_eval.samples
            << " test images (" << o.output_dir << ")\n";
  return 0;
}

}  // namespace

int run_eval(const TrainOptions& o) {
  const EvalPlan p = plan_eval(o);
  EngineOptions eo;
  eo.compute_dtype = p.compute_dtype;
  Engine engine(p.spec, p.placement, optim::OptimizerConfig{}, optim::LrSchedule::constant(0.1), 0,
                eo);
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
