#include "pipeline/engine.h"

#include <chrono>
#include <cmath>
#include <mutex>
#include <sstream>

#include "pipeline/rendezvous_check.h"
#include "pipeline/schedule_text.h"
#include "pipeline/stage_worker.h"
#include "runtime/host_data.h"

namespace augur {

namespace {
using Clock = std::chrono::steady_clock;

std::vector<StageModel> resnet_stages(const ModelSpec& spec,
                                      const std::vector<StagePlacement>& placement, uint64_t seed) {
  AUGUR_ARG_CHECK(!placement.empty(), "a pipeline needs at least one stage");
  size_t expected_first = 0;
  for (size_t r = 0; r < placement.size(); ++r) {
    const StagePlacement& p = placement[r];
    AUGUR_ARG_CHECK(p.first_unit == expected_first && p.end_unit > p.first_unit, "stage ", r,
                    " covers units [", p.first_unit, ", ", p.end_unit,
                    "): stages must be contiguous, non-empty and in order");
    expected_first = p.end_unit;
  }
  AUGUR_ARG_CHECK(expected_first == spec.units.size(), "the stages cover ", expected_first, " of ",
                  spec.units.size(), " units");
  std::vector<StageModel> stages;
  for (const StagePlacement& p : placement) {
    StageModel m;
    m.net = build_stage(spec, p.first_unit, p.end_unit);
    m.device = p.device;
    initialize_stage(m.net, seed, &m.weights, &m.state);
    stages.push_back(std::move(m));
  }
  return stages;
}

std::string error_text(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown error";
  }
}
}  // namespace

double RunStats::mean_loss() const {
  double s = 0;
  for (float l : losses) s += l;
  return losses.empty() ? 0.0 : s / static_cast<double>(losses.size());
}

Engine::Engine(const ModelSpec& spec, std::vector<StagePlacement> placement,
               const optim::OptimizerConfig& optimizer, const optim::LrSchedule& schedule,
               uint64_t seed, EngineOptions options)
    : Engine(resnet_stages(spec, placement, seed), optimizer, schedule, std::move(options)) {}

Engine::Engine(std::vector<StageModel> models, const optim::OptimizerConfig& optimizer,
               const optim::LrSchedule& schedule, EngineOptions options)
    : options_(std::move(options)), optimizer_(optimizer), loss_(options_.label_smoothing) {
  AUGUR_ARG_CHECK(!models.empty(), "a pipeline needs at least one stage");
  total_stages_ = static_cast<int>(models.size());
  std::vector<bool> local(models.size(), options_.local_stages.empty());
  for (int r : options_.local_stages) {
    AUGUR_ARG_CHECK(r >= 0 && r < total_stages_ && !local[static_cast<size_t>(r)], "local stage ",
                    r, " of a ", total_stages_, "-stage pipeline (each at most once)");
    local[static_cast<size_t>(r)] = true;
  }
  if (options_.micro_batch_input) {
    Shape s = *options_.micro_batch_input;
    for (const StageModel& m : models) {
      stage_inputs_.push_back(s);
      s = m.net.net->output_shape(s);
    }
  }
  AUGUR_ARG_CHECK(
      options_.stage_staleness.empty() || options_.stage_staleness.size() == models.size(),
      "stage staleness given for ", options_.stage_staleness.size(), " of ", models.size(),
      " stages");
  std::vector<Device> devices;
  for (size_t r = 0; r < models.size(); ++r) {
    StageModel& m = models[r];
    devices.push_back(m.device);
    if (!local[r]) continue;
    const int s = options_.stage_staleness.empty() ? 0 : options_.stage_staleness[r];
    const optim::StageOptimizer so =
        optim::stage_optimizer(optimizer, schedule, options_.staleness_rules, s, total_stages_);
    stages_.push_back(std::make_unique<StageWorker>(
        static_cast<int>(r), std::move(m.net), m.device, m.weights, m.state, so.config, so.schedule,
        options_.decay_norm_and_bias, options_.compute_dtype));
  }
  AUGUR_ARG_CHECK(options_.local_stages.empty() || options_.transport,
                  "an engine that runs only some of the stages needs a transport to the others");
  transport_ = options_.transport ? options_.transport
                                  : std::make_shared<InProcessTransport>(std::move(devices));
}

Engine::~Engine() = default;

int Engine::stages() const {
  return total_stages_;
}
bool Engine::runs_stage(int r) const {
  for (const auto& st : stages_)
    if (st->index() == r) return true;
  return false;
}
StageWorker& Engine::worker(int r) const {
  for (const auto& st : stages_)
    if (st->index() == r) return *st;
  throw Error("stage " + std::to_string(r) + " of the " + std::to_string(total_stages_) +
              "-stage pipeline runs in another process");
}
const StageNet& Engine::stage_net(int r) const {
  return worker(r).net();
}
int64_t Engine::steps_done(int r) const {
  return worker(r).optimizer().steps_done();
}
double Engine::next_lr() const {
  return stages_.front()->optimizer().next_lr();
}

ExecutionPlan Engine::plan(const Schedule& s) const {
  AUGUR_ARG_CHECK(s.stages == stages() && static_cast<int>(s.actions.size()) == s.stages,
                  "schedule for ", s.stages, " stages given to a ", stages(), "-stage pipeline");
  PlanOptions po;
  po.policy = options_.policy;
  po.predictor_reads_gradient = optim::predictor_reads_gradient(options_.predictor, optimizer_);
  po.quality_every = options_.quality_every;
  // Each stage's list depends on its own step count only; other processes' stages plan
  // their own lists.
  po.steps_before.assign(static_cast<size_t>(total_stages_), 0);
  for (const auto& st : stages_)
    po.steps_before[static_cast<size_t>(st->index())] = st->optimizer().steps_done();
  po.last_stage_reads_labels = !options_.local_stages.empty();
  return plan_execution(s, po);
}

RunStats Engine::run(const Schedule& s, const MicroBatchSource& source, RunObserver* observer) {
  const ExecutionPlan p = plan(s);
  if (!options_.local_stages.empty() && options_.group_communication) {
    // Across processes a transport may match as NCCL does (in order, blocking): refuse lists
    // that would hang there before any rank starts them. Checked once per distinct lists (a
    // synchronous schedule runs the same lists every step).
    if (s.actions != rendezvous_checked_) {
      const RendezvousResult check = check_rendezvous(s);
      AUGUR_ARG_CHECK(check.completes, "this schedule cannot run across processes: ", check.problem,
                      "\n", check.grid);
      rendezvous_checked_ = s.actions;
    }
  }
  const auto t_run = Clock::now();
  RunStats result;
  result.losses.assign(static_cast<size_t>(s.micro_batches), NAN);
  transport_->begin_run();
  RecordQueue queue(runs_stage(total_stages_ - 1));  // else the backwards wake the reader
  CpuTurn cpu_turn;
  std::atomic<bool> stop{false};
  RunContext c;
  c.plan = &p;
  c.source = &source;
  c.transport = transport_.get();
  c.options = &options_;
  c.loss = &loss_;
  c.cpu_turn = &cpu_turn;
  c.records = &queue;
  c.stop = &stop;
  c.stage_inputs = stage_inputs_.empty() ? nullptr : &stage_inputs_;
  c.run_index = runs_++;
  if (options_.trace && named_ != options_.trace) {
    named_ = options_.trace;
    const bool ranks = options_.trace_replicas > 1 || !options_.local_stages.empty();
    for (const auto& st : stages_) {
      const int pid = st->index() * options_.trace_replicas + options_.trace_replica;
      options_.trace->set_process_name(pid, ranks ? "rank " + std::to_string(pid) + ": stage " +
                                                        std::to_string(st->index()) + ", replica " +
                                                        std::to_string(options_.trace_replica)
                                                  : "stage " + std::to_string(st->index()));
      options_.trace->set_thread_name(pid, kTraceComputeTid, "compute");
      options_.trace->set_thread_name(pid, kTraceCommTid, "comms");
    }
  }
  for (auto& st : stages_) st->start(c);
  bool stalled = false;
  const std::exception_ptr error = drain(queue, observer, &result, &stop, &stalled);
  if (error) fail(s, error, stalled);
  result.stages.resize(static_cast<size_t>(total_stages_));  // another process's: empty
  for (auto& st : stages_) {
    AUGUR_CHECK(st->in_flight() == 0, "stage ", st->index(), " ended the schedule with ",
                st->in_flight(), " micro-batches in flight");
    StageRunStats& rs = result.stages[static_cast<size_t>(st->index())];
    rs.busy_ms = st->busy_ms(st->busy_pairs());
    rs.staleness = st->staleness();
    rs.quality = st->quality();
    rs.steps_done = st->optimizer().steps_done();
  }
  result.wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - t_run).count();
  return result;
}

const Stream& Engine::reader_for(const Device& device) {
  if (device.is_cpu()) return cpu_reader_;
  auto it = readers_.find(device.index);
  if (it == readers_.end()) it = readers_.emplace(device.index, Stream::create(device)).first;
  return it->second;
}

std::exception_ptr Engine::drain(RecordQueue& queue, RunObserver* observer, RunStats* result,
                                 std::atomic<bool>* stop, bool* stalled) {
  std::exception_ptr first;  // a stall is reported only when nothing else failed
  std::exception_ptr stall;
  auto give_up = [&](std::exception_ptr e, const std::string& why) {
    if (!first) first = e;
    stop->store(true);
    transport_->abort(why);
  };
  for (size_t done = 0; done < stages_.size();) {
    for (RecordItem& item : queue.take()) {
      try {
        switch (item.kind) {
          case RecordItem::Kind::Done:
            ++done;
            if (!item.error) break;
            try {
              std::rethrow_exception(item.error);
            } catch (const ReceiveTimeout&) {
              if (!stall) stall = item.error;
              stop->store(true);
              transport_->abort("aborted: the pipeline stalled");
            } catch (...) {
              give_up(item.error, "aborted because stage " + std::to_string(item.stage) +
                                      " failed: " + error_text(item.error));
            }
            break;
          case RecordItem::Kind::Loss: {
            if (stop->load()) break;
            const LossFigures f = LossHead::read(item.loss, reader_for(item.loss.loss.device()));
            result->losses[static_cast<size_t>(item.micro_batch)] = f.loss;
            result->samples += f.samples;
            result->correct_top1 += f.top1;
            if (options_.stop_on_non_finite_loss && !std::isfinite(f.loss))
              throw NonFiniteLoss("loss became " + std::to_string(f.loss) + " at micro-batch " +
                                      std::to_string(item.micro_batch),
                                  item.micro_batch, f.loss);
            if (observer) {
              MicroBatchRecord r;
              r.kind = MicroBatchRecord::Kind::Loss;
              r.stage = item.stage;
              r.micro_batch = item.micro_batch;
              r.loss = f.loss;
              r.samples = f.samples;
              r.correct_top1 = f.top1;
              observer->on_record(r);
            }
            break;
          }
          case RecordItem::Kind::Backward: {
            if (stop->load() || !observer) break;
            MicroBatchRecord r;
            r.kind = MicroBatchRecord::Kind::Backward;
            r.stage = item.stage;
            r.micro_batch = item.micro_batch;
            r.staleness = item.staleness;
            r.quality = item.quality;
            r.busy_ms = worker(item.stage).busy_ms(item.busy_pairs);
            observer->on_record(r);
            break;
          }
        }
      } catch (...) {
        give_up(std::current_exception(), "aborted: " + error_text(std::current_exception()));
      }
    }
  }
  *stalled = !first && stall;
  return first ? first : stall;
}

void Engine::fail(const Schedule& s, std::exception_ptr error, bool stalled) {
  std::vector<size_t> positions(static_cast<size_t>(total_stages_), 0);
  std::vector<std::string> notes(static_cast<size_t>(total_stages_));
  for (int r = 0; r < total_stages_; ++r)
    if (!runs_stage(r))
      notes[static_cast<size_t>(r)] = "in another process: position not known here";
  std::ostringstream where;
  for (const auto& st : stages_) {
    const size_t pos = st->position();
    const auto& list = s.actions[static_cast<size_t>(st->index())];
    positions[static_cast<size_t>(st->index())] = pos;
    where << "\n  stage " << st->index() << ": action " << pos << " of " << list.size();
    if (pos < list.size())
      where << " (" << list[pos].str() << ")";
    else
      where << " (done)";
    st->clear_in_flight();
  }
  const std::string grid = "\n" + format_grid(s, positions, notes);
  if (stalled)
    throw Error("pipeline stalled: no message arrived within " +
                std::to_string(options_.watchdog_seconds) + " s; positions:" + where.str() + grid);
  try {
    std::rethrow_exception(error);
  } catch (const NonFiniteLoss& e) {
    throw;  // the caller names the epoch and the checkpoint
  } catch (const std::exception& e) {
    throw Error(std::string(e.what()) + "\npipeline positions:" + where.str() + grid);
  }
}

EvalStats Engine::evaluate(const TensorView& images, const TensorView& labels) {
  AUGUR_CHECK(static_cast<int>(stages_.size()) == total_stages_,
              "evaluation runs the whole model in one process; this one runs ", stages_.size(),
              " of ", total_stages_, " stages");
  Tensor carry;
  TensorView x = images;
  std::vector<Saved> saved(stages_.size());
  for (auto& stp : stages_) {
    StageWorker& st = *stp;
    Tensor here = st.compute_input(x);
    Pass p;
    p.stream = &st.stream();
    p.weights = st.compute_weights();
    p.grads = st.grads();
    p.state = st.state();
    p.training = false;
    const TensorView y = st.net().net->forward(p, saved[static_cast<size_t>(st.index())], here);
    carry = copy_of(y, st.device(), st.stream());  // the next stage copies from here
    st.stream().synchronize();
    x = carry;
  }
  StageWorker& last = *stages_.back();
  const Tensor lab = copy_of(labels, last.device(), last.stream());
  const LossFigures f = loss_.evaluate(carry, lab, last.stream());
  EvalStats out;
  out.samples = f.samples;
  out.loss_sum = double(f.loss) * out.samples;
  out.top1 = f.top1;
  out.top5 = f.top5;
  return out;
}

std::vector<std::vector<float>> Engine::weights() const {
  std::vector<std::vector<float>> out(static_cast<size_t>(total_stages_));
  for (const auto& st : stages_)
    out[static_cast<size_t>(st->index())] = to_vector<float>(st->weights(), st->stream());
  return out;
}

std::vector<std::vector<float>> Engine::states() const {
  std::vector<std::vector<float>> out(static_cast<size_t>(total_stages_));
  for (const auto& st : stages_)
    out[static_cast<size_t>(st->index())] = to_vector<float>(st->state(), st->stream());
  return out;
}

std::vector<std::vector<float>> Engine::optimizer_state(int index) const {
  std::vector<std::vector<float>> out(static_cast<size_t>(total_stages_));
  for (const auto& st : stages_) {
    const TensorView v = st->optimizer().state(index);
    if (!v.empty()) out[static_cast<size_t>(st->index())] = to_vector<float>(v, st->stream());
  }
  return out;
}

namespace {
void from_host(const std::vector<float>& v, const TensorView& t, const Stream& s, const char* what,
               int stage) {
  AUGUR_ARG_CHECK(static_cast<int64_t>(v.size()) == (t.empty() ? 0 : t.numel()), what, " of stage ",
                  stage, " has ", v.size(), " elements, the arena ", t.empty() ? 0 : t.numel());
  if (v.empty()) return;
  copy(t, TensorView(const_cast<float*>(v.data()), DType::F32, Device::cpu(), t.shape()), s);
  s.synchronize();
}
}  // namespace

void Engine::set_weights(const std::vector<std::vector<float>>& weights,
                         const std::vector<std::vector<float>>& states) {
  AUGUR_ARG_CHECK(weights.size() == size_t(total_stages_) && states.size() == size_t(total_stages_),
                  "set_weights: ", weights.size(), " stages given for ", total_stages_);
  for (auto& st : stages_) {
    const size_t r = static_cast<size_t>(st->index());
    from_host(weights[r], st->weights(), st->stream(), "weights", st->index());
    st->refresh_compute_weights();
    from_host(states[r], st->state(), st->stream(), "state", st->index());
  }
}

void Engine::recalibrate_batchnorm(const std::vector<TensorView>& batches) {
  AUGUR_CHECK(static_cast<int>(stages_.size()) == total_stages_,
              "BatchNorm re-estimation runs the whole model in one process; this one runs ",
              stages_.size(), " of ", total_stages_, " stages");
  AUGUR_ARG_CHECK(!batches.empty(), "BatchNorm re-estimation needs at least one batch");
  std::vector<Tensor> inputs;  // each batch's activation entering the stage
  for (auto& stp : stages_) {
    StageWorker& st = *stp;
    const StageNet& net = st.net();
    const std::vector<float> before = to_vector<float>(st.state(), st.stream());
    std::vector<double> sum(before.size(), 0.0);
    const std::vector<float> zeros(before.size(), 0.0f);
    std::vector<Tensor> outputs;
    for (size_t b = 0; b < batches.size(); ++b) {
      const Tensor here = st.compute_input(inputs.empty() ? batches[b] : inputs[b].view());
      // From zeroed statistics with momentum 1 the running statistics are the batch's.
      from_host(zeros, st.state(), st.stream(), "state", st.index());
      Pass p = Pass::train(st.stream(), st.compute_weights(), st.grads(), st.state());
      p.bn_momentum = 1.0;
      Saved saved;
      const TensorView y = net.net->forward(p, saved, here);
      outputs.push_back(copy_of(y, st.device(), st.stream()));
      const std::vector<float> after = to_vector<float>(st.state(), st.stream());
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += after[i];
    }
    // Running means and variances take the average; everything else (the counters, the
    // deferred accumulators) is left as the run had it.
    std::vector<float> result = before;
    const auto ends_with = [](const std::string& s, const std::string& tail) {
      return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
    };
    for (const ArenaEntry& e : net.state.entries()) {
      if (!ends_with(e.name, "running_mean") && !ends_with(e.name, "running_var")) continue;
      for (int64_t i = e.offset; i < e.offset + e.shape.numel(); ++i)
        result[static_cast<size_t>(i)] =
            static_cast<float>(sum[static_cast<size_t>(i)] / static_cast<double>(batches.size()));
    }
    from_host(result, st.state(), st.stream(), "state", st.index());
    st.stream().synchronize();
    inputs = std::move(outputs);
  }
}

void Engine::set_optimizer_state(int index, const std::vector<std::vector<float>>& state,
                                 int64_t steps_done) {
  AUGUR_ARG_CHECK(state.size() == size_t(total_stages_), "optimizer state for ", state.size(),
                  " stages given to ", total_stages_);
  for (auto& st : stages_) {
    from_host(state[static_cast<size_t>(st->index())], st->optimizer().state(index), st->stream(),
              "optimizer state", st->index());
    st->optimizer().set_steps_done(steps_done);
  }
}

std::vector<std::vector<float>> Engine::last_gradients() const {
  std::vector<std::vector<float>> out(static_cast<size_t>(total_stages_));
  for (const auto& st : stages_)
    if (!st->last_gradients().empty())
      out[static_cast<size_t>(st->index())] = to_vector<float>(st->last_gradients(), st->stream());
  return out;
}

void Engine::set_last_gradients(const std::vector<std::vector<float>>& grads) {
  AUGUR_ARG_CHECK(grads.size() == size_t(total_stages_), "last gradients for ", grads.size(),
                  " stages given to ", total_stages_);
  for (auto& st : stages_) {
    const auto& g = grads[static_cast<size_t>(st->index())];
    if (g.empty()) {
      st->last_gradients() = Tensor();
      continue;
    }
    st->last_gradients() =
        Tensor::empty(st->grads().shape(), DType::F32, st->device(), &st->stream());
    from_host(g, st->last_gradients(), st->stream(), "last gradient", st->index());
  }
}

}  // namespace augur
