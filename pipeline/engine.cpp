#include "pipeline/engine.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "kernels/accuracy.h"
#include "kernels/elementwise.h"
#include "kernels/norms.h"
#include "models/state_dict.h"
#include "pipeline/staleness.h"
#include "runtime/host_data.h"

namespace augur {

namespace {
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Linear and constant-gradient extrapolate the last gradient; nesterov and none do not.
bool predictor_reads_gradient(optim::Predictor p) {
  return p == optim::Predictor::Linear || p == optim::Predictor::ConstantGradient;
}
}  // namespace

double RunStats::mean_loss() const {
  double s = 0;
  for (float l : losses) s += l;
  return losses.empty() ? 0.0 : s / static_cast<double>(losses.size());
}

// One stage: its layers, arenas, optimizer and the micro-batches it has in flight.
struct Engine::StageState {
  int index = 0;
  Device device;
  StageNet net;
  Stream stream;       // compute
  Stream copy_stream;  // transfers to other devices
  Tensor weights, grads, state;
  std::unique_ptr<optim::Optimizer> opt;
  Tensor predicted;           // W_hat for the next forward, when the policy predicts
  int predicted_for_mb = -1;  // the micro-batch that prediction was made for
  // The gradient of the last step of a run, for predictors that need it when the next
  // run's first forwards predict without a step before them.
  Tensor last_grads;
  std::vector<Tensor> stash_pool;

  struct InFlight {
    Saved saved;
    MicroBatch batch;  // stage 0 and the last stage: the fetched data
    Tensor input;      // stage 0: the images on this device
    Message received;  // stages > 0: the activation
    TensorView output;
    TensorView forward_weights;
    Tensor stash;
    int64_t steps_at_forward = 0;
    Tensor dlogits;
    Message grad_in;
    Tensor dx;
    Tensor w_stale, w_hat;  // prediction-quality samples
  };
  std::map<int, InFlight> inflight;
  std::atomic<size_t> position{0};
  std::vector<Action> list;
  StageRunStats stats;

  Pass pass(const TensorView& w) const {
    Pass p;
    p.stream = &stream;
    p.weights = w;
    p.grads = grads;
    p.state = state;
    p.training = true;
    return p;
  }
  Tensor take_stash() {
    if (stash_pool.empty()) return Tensor::empty(weights.shape(), weights.dtype(), device, &stream);
    Tensor t = std::move(stash_pool.back());
    stash_pool.pop_back();
    return t;
  }
};

namespace {
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
}  // namespace

Engine::Engine(const ModelSpec& spec, std::vector<StagePlacement> placement,
               const optim::OptimizerConfig& optimizer, const optim::LrSchedule& schedule,
               uint64_t seed, EngineOptions options)
    : Engine(resnet_stages(spec, placement, seed), optimizer, schedule, std::move(options)) {}

Engine::Engine(std::vector<StageModel> models, const optim::OptimizerConfig& optimizer,
               const optim::LrSchedule& schedule, EngineOptions options)
    : options_(std::move(options)), loss_(options_.label_smoothing) {
  AUGUR_ARG_CHECK(!models.empty(), "a pipeline needs at least one stage");
  for (size_t r = 0; r < models.size(); ++r) {
    StageModel& m = models[r];
    require_device(m.device);
    AUGUR_ARG_CHECK(static_cast<int64_t>(m.weights.size()) == m.net.params.size() &&
                        static_cast<int64_t>(m.state.size()) == m.net.state.size(),
                    "stage ", r, ": initial arenas do not match its layout");
    auto st = std::make_unique<StageState>();
    st->index = static_cast<int>(r);
    st->device = m.device;
    st->net = std::move(m.net);
    st->stream = Stream::create(st->device);
    st->copy_stream = Stream::create(st->device);
    st->weights = copy_of(
        TensorView(m.weights.data(), DType::F32, Device::cpu(), Shape{st->net.params.size()}),
        st->device, st->stream);
    st->state =
        copy_of(TensorView(m.state.data(), DType::F32, Device::cpu(), Shape{st->net.state.size()}),
                st->device, st->stream);
    st->grads = Tensor::zeros(Shape{st->net.params.size()}, DType::F32, st->device, st->stream);
    optim::DecayMask mask(st->net.params.size(),
                          st->net.params.decay_ranges(options_.decay_norm_and_bias));
    st->opt = std::make_unique<optim::Optimizer>(optimizer, schedule, mask, st->device, st->stream,
                                                 DType::F32);
    if (forward_predicts(options_.policy))
      st->predicted = Tensor::empty(st->weights.shape(), DType::F32, st->device, &st->stream);
    st->stream.synchronize();  // the host vectors die here
    stages_.push_back(std::move(st));
  }
}

Engine::~Engine() = default;

int Engine::stages() const {
  return static_cast<int>(stages_.size());
}
const StageNet& Engine::stage_net(int r) const {
  return stages_.at(r)->net;
}
int64_t Engine::steps_done(int r) const {
  return stages_.at(r)->opt->steps_done();
}
double Engine::next_lr() const {
  return stages_.front()->opt->next_lr();
}

RunStats Engine::run(const Schedule& s, const MicroBatchSource& source) {
  AUGUR_ARG_CHECK(s.lowered, "the engine runs lowered schedules (explicit sends and receives)");
  AUGUR_ARG_CHECK(s.stages == stages() && static_cast<int>(s.actions.size()) == s.stages,
                  "schedule for ", s.stages, " stages given to a ", stages(), "-stage pipeline");
  const int M = s.micro_batches;
  const int K = stages();
  const bool sync = is_synchronous(s.kind);
  // Synchronous schedules accumulate M micro-batch gradients and step once: averaging them
  // makes the step equal to one-stage training on the whole mini-batch.
  const double grad_scale = sync ? 1.0 / M : 1.0;

  RunStats result;
  result.losses.assign(static_cast<size_t>(M), NAN);
  std::atomic<int64_t> samples{0}, correct{0};
  InProcessTransport transport;
  std::mutex fetched_mutex;
  std::mutex cpu_turn;  // held by the CPU stage that is computing (cpu_stages_take_turns)
  std::map<int, MicroBatch> labels_for_last;  // stage 0 fetches, the last stage reads

  // The staleness each (stage, micro-batch) will see, read off the lists: a forward that
  // predicts needs its horizon before its backward has happened.
  const std::vector<std::vector<int>> planned_all = realised_staleness(s);
  const auto t_run = Clock::now();
  std::vector<std::exception_ptr> errors(static_cast<size_t>(K));
  std::atomic<bool> stalled{false};

  auto worker = [&](int r) {
    StageState& st = *stages_[r];
    const std::vector<Action>& list = s.actions[r];
    const std::vector<int>& planned = planned_all[static_cast<size_t>(r)];
    st.stats.staleness.assign(static_cast<size_t>(M), -1);
    st.stats.quality.clear();
    st.stats.busy_ms = 0;
    const bool last = r == K - 1;
    const double watchdog = options_.watchdog_seconds;
    auto deadline = [&] {
      return Clock::now() + std::chrono::microseconds(static_cast<int64_t>(watchdog * 1e6));
    };
    auto send = [&](int to, MessageKind kind, int mb, const TensorView& v, Tensor owned) {
      StageState& dst = *stages_[to];
      Message m;
      if (st.device == dst.device) {
        m.view = v;
        m.owned = std::move(owned);
        if (st.device.is_cuda()) {
          m.ready = std::make_shared<Event>(st.device);
          m.ready->record(st.stream);
        }
      } else {
        // Another device: copy on this stage's copy stream, after the compute that made it.
        Event made(st.device);
        made.record(st.stream);
        made.wait(st.copy_stream);
        m.owned = Tensor::empty(v.shape(), v.dtype(), dst.device, &dst.stream);
        copy(m.owned, v, st.copy_stream);
        m.view = m.owned.view();
        m.ready = std::make_shared<Event>(st.device);
        m.ready->record(st.copy_stream);
        if (!owned.empty()) owned.set_stream(st.copy_stream);
      }
      transport.send(to, kind, mb, std::move(m));
    };
    auto receive = [&](MessageKind kind, int mb) {
      Message m = transport.receive(r, kind, mb, deadline());
      if (m.ready) m.ready->wait(st.stream);
      if (!m.owned.empty() && m.owned.device() == st.device) m.owned.set_stream(st.stream);
      return m;
    };

    try {
      for (size_t i = 0; i < list.size(); ++i) {
        st.position.store(i);
        const Action& a = list[i];
        const int mb = a.micro_batch;
        AUGUR_CHECK(a.stage == r, "action ", a.str(), " in the list of stage ", r);
        AUGUR_CHECK(a.kind == ActionKind::Step || (mb >= 0 && mb < M), "action ", a.str(),
                    " names a micro-batch outside 0..", M - 1);
        const bool computes = a.kind == ActionKind::Forward || a.kind == ActionKind::Backward ||
                              a.kind == ActionKind::Step;
        std::unique_lock<std::mutex> turn(cpu_turn, std::defer_lock);
        if (computes && st.device.is_cpu() && options_.cpu_stages_take_turns) turn.lock();
        const auto t0 = Clock::now();  // after the turn: busy time excludes waiting for it
        std::unique_ptr<TraceScope> scope;
        if (options_.trace)
          scope = std::make_unique<TraceScope>(options_.trace, a.str(),
                                               a.kind == ActionKind::Forward    ? "forward"
                                               : a.kind == ActionKind::Backward ? "backward"
                                               : a.kind == ActionKind::Step     ? "step"
                                                                                : "comm",
                                               r, 0);
        switch (a.kind) {
          case ActionKind::RecvAct:
            st.inflight[mb].received = receive(MessageKind::Activation, mb);
            break;
          case ActionKind::RecvGrad:
            st.inflight[mb].grad_in = receive(MessageKind::Gradient, mb);
            break;
          case ActionKind::SendAct: {
            auto& f = st.inflight.at(mb);
            send(r + 1, MessageKind::Activation, mb, f.output, Tensor());
            break;
          }
          case ActionKind::SendGrad: {
            auto it = st.inflight.find(mb);
            AUGUR_CHECK(it != st.inflight.end() && !it->second.dx.empty(),
                        "SendGrad of micro-batch ", mb, " before its backward");
            Tensor dx = std::move(it->second.dx);
            const TensorView v = dx.view();
            st.inflight.erase(it);
            send(r - 1, MessageKind::Gradient, mb, v, std::move(dx));
            break;
          }
          case ActionKind::Forward: {
            auto& f = st.inflight[mb];
            TensorView x;
            if (r == 0) {
              f.batch = source(mb);
              f.input = copy_of(f.batch.images, st.device, st.stream);
              x = f.input;
              if (!last) {
                std::lock_guard<std::mutex> lock(fetched_mutex);
                labels_for_last[mb] = f.batch;
              }
            } else {
              AUGUR_CHECK(!f.received.view.empty(), "forward of micro-batch ", mb,
                          " before its activation arrived");
              x = f.received.view;
            }
            // The weight version this forward computes with.
            const int s_planned = planned[mb];
            TensorView w = st.weights;
            if (forward_predicts(options_.policy) && s_planned > 0 && st.opt->steps_done() > 0) {
              if (st.predicted_for_mb != mb) {
                // No step of this run came before this forward (a run's warm-up after an
                // earlier run): predict now from the state the last step left.
                optim::PredictRequest req{options_.predictor, s_planned, st.predicted};
                st.opt->predict(st.weights, st.last_grads, req, st.stream);
              }
              w = st.predicted;
            }
            if (backward_reuses_forward_weights(options_.policy) && s_planned > 0) {
              f.stash = st.take_stash();
              copy(f.stash, w, st.stream);
              w = f.stash;
            }
            f.forward_weights = w;
            // Quality is sampled where a prediction was possible: before a stage's first step
            // there is no gradient to extrapolate, and W_hat = W_stale by definition.
            if (options_.quality_every > 0 && forward_predicts(options_.policy) && s_planned > 0 &&
                st.opt->steps_done() > 0 && mb % options_.quality_every == 0) {
              f.w_stale = copy_of(st.weights, st.device, st.stream);
              f.w_hat = copy_of(w, st.device, st.stream);
            }
            f.steps_at_forward = st.opt->steps_done();
            Pass p = st.pass(w);
            p.bn_stats = options_.bn_stats;
            f.output = st.net.net->forward(p, f.saved, x);
            if (last) {
              MicroBatch lb;
              if (r == 0) {
                lb = f.batch;
              } else {
                std::lock_guard<std::mutex> lock(fetched_mutex);
                auto it = labels_for_last.find(mb);
                AUGUR_CHECK(it != labels_for_last.end(), "labels of micro-batch ", mb, " missing");
                lb = std::move(it->second);
                labels_for_last.erase(it);
                f.batch = lb;
              }
              Tensor labels = copy_of(lb.labels, st.device, st.stream);
              Tensor loss = loss_.forward_backward(f.output, labels, &f.dlogits, st.stream);
              if (grad_scale != 1.0) kernels::scale(f.dlogits, grad_scale, st.stream);
              Tensor counts = Tensor::zeros(Shape{2}, DType::I64, st.device, st.stream);
              kernels::accuracy_topk(f.output, labels, counts, 5, st.stream);
              float host_loss = 0;
              int64_t host_counts[2] = {0, 0};
              copy(TensorView(&host_loss, DType::F32, Device::cpu(), Shape{1}), loss, st.stream);
              copy(TensorView(host_counts, DType::I64, Device::cpu(), Shape{2}), counts, st.stream);
              st.stream.synchronize();
              result.losses[static_cast<size_t>(mb)] = host_loss;
              samples += labels.numel();
              correct += host_counts[0];
              if (options_.on_loss) options_.on_loss(mb, host_loss, labels.numel(), host_counts[0]);
            }
            break;
          }
          case ActionKind::Backward: {
            auto it = st.inflight.find(mb);
            AUGUR_CHECK(it != st.inflight.end(), "backward of micro-batch ", mb,
                        " before its forward");
            auto& f = it->second;
            TensorView dy;
            if (last) {
              dy = f.dlogits;
            } else {
              AUGUR_CHECK(!f.grad_in.view.empty(), "backward of micro-batch ", mb,
                          " before its gradient arrived");
              dy = f.grad_in.view;
            }
            const int64_t staleness = st.opt->steps_done() - f.steps_at_forward;
            st.stats.staleness[static_cast<size_t>(mb)] = static_cast<int>(staleness);
            const TensorView w = backward_reuses_forward_weights(options_.policy)
                                     ? f.forward_weights
                                     : st.weights.view();
            Pass p = st.pass(w);
            p.bn_stats = options_.bn_stats;
            f.dx = st.net.net->backward(p, f.saved, dy, r > 0);
            double quality = NAN;
            if (!f.w_hat.empty()) {
              // W(i): the version this micro-batch should have used = the current weights.
              const auto hat = kernels::norm_diff_and_norm_host(f.w_hat, st.weights, st.stream);
              const auto stale = kernels::norm_diff_and_norm_host(f.w_stale, st.weights, st.stream);
              quality = stale.diff > 0 ? hat.diff / stale.diff : 0.0;
              st.stats.quality.push_back(quality);
            }
            if (options_.on_backward)
              options_.on_backward(r, mb, static_cast<int>(staleness), quality,
                                   st.stats.busy_ms + ms_since(t0));
            if (!f.stash.empty()) st.stash_pool.push_back(std::move(f.stash));
            if (r == 0)
              st.inflight.erase(it);  // nothing to send upstream
            else {
              Tensor dx = std::move(f.dx);
              f.saved.clear();
              f = StageState::InFlight();
              f.dx = std::move(dx);
            }
            break;
          }
          case ActionKind::Step: {
            // Fuse the prediction for the next forward into this step when no other step
            // comes between them (then this is the last step before that forward).
            optim::PredictRequest req;
            bool predict = false;
            int next_mb = -1;
            if (forward_predicts(options_.policy)) {
              for (size_t j = i + 1; j < list.size(); ++j) {
                if (list[j].kind == ActionKind::Step) break;
                if (list[j].kind == ActionKind::Forward) {
                  next_mb = list[j].micro_batch;
                  break;
                }
              }
              if (next_mb >= 0 && planned[next_mb] > 0) {
                req.predictor = options_.predictor;
                req.horizon = planned[next_mb];
                req.out = st.predicted;
                predict = true;
              }
            }
            if (options_.bn_stats == BnStatsMode::Deferred) {
              Pass p = st.pass(st.weights);
              p.bn_stats = BnStatsMode::Deferred;
              st.net.net->finish_minibatch(p);
            }
            const bool keep_gradient = forward_predicts(options_.policy) && next_mb < 0 &&
                                       predictor_reads_gradient(options_.predictor);
            if (keep_gradient) {
              // The last step before the run ends: keep its gradient for the next run's
              // first predictions, then zero the arena as a step would.
              st.opt->step(st.weights, st.grads, st.stream, nullptr, /*zero_grads=*/false);
              st.last_grads = copy_of(st.grads, st.device, st.stream);
              st.grads.zero(st.stream);
            } else {
              st.opt->step(st.weights, st.grads, st.stream, predict ? &req : nullptr);
            }
            st.predicted_for_mb = predict ? next_mb : -1;
            break;
          }
        }
        if (computes) {
          if (st.device.is_cuda()) st.stream.synchronize();  // honest busy time per action
          st.stats.busy_ms += ms_since(t0);
        }
      }
      st.position.store(list.size());
      st.stream.synchronize();
    } catch (const ReceiveTimeout&) {
      stalled = true;
      errors[static_cast<size_t>(r)] = std::current_exception();
      transport.abort("aborted: the pipeline stalled");
    } catch (...) {
      errors[static_cast<size_t>(r)] = std::current_exception();
      std::string what = "stage " + std::to_string(r) + " failed";
      try {
        throw;
      } catch (const std::exception& e) {
        what += ": " + std::string(e.what());
      } catch (...) {
      }
      transport.abort("aborted because " + what);
    }
  };

  for (auto& st : stages_) st->list = s.actions[static_cast<size_t>(st->index)];
  std::vector<std::thread> threads;
  for (int r = 1; r < K; ++r) threads.emplace_back(worker, r);
  worker(0);
  for (auto& t : threads) t.join();

  // Report: the grid of positions on a stall, else the first stage's own error.
  auto grid = [&] {
    std::ostringstream os;
    for (const auto& st : stages_) {
      const size_t pos = st->position.load();
      os << "\n  stage " << st->index << ": action " << pos << " of " << st->list.size();
      if (pos < st->list.size())
        os << " (" << st->list[pos].str() << ")";
      else
        os << " (done)";
    }
    return os.str();
  };
  if (stalled) {
    for (auto& st : stages_) st->inflight.clear();
    throw Error("pipeline stalled: no message arrived within " +
                std::to_string(options_.watchdog_seconds) + " s; positions:" + grid());
  }
  for (int r = 0; r < K; ++r) {
    if (!errors[static_cast<size_t>(r)]) continue;
    for (auto& st : stages_) st->inflight.clear();
    try {
      std::rethrow_exception(errors[static_cast<size_t>(r)]);
    } catch (const std::exception& e) {
      throw Error(std::string(e.what()) + "\npipeline positions:" + grid());
    }
  }
  for (auto& st : stages_) {
    AUGUR_CHECK(st->inflight.empty(), "stage ", st->index, " ended the schedule with ",
                st->inflight.size(), " micro-batches in flight");
    st->stats.steps_done = st->opt->steps_done();
    result.stages.push_back(st->stats);
  }
  result.samples = samples.load();
  result.correct_top1 = correct.load();
  result.wall_ms = ms_since(t_run);
  return result;
}

EvalStats Engine::evaluate(const TensorView& images, const TensorView& labels) {
  EvalStats out;
  Tensor carry;
  TensorView x = images;
  std::vector<Saved> saved(stages_.size());
  for (auto& stp : stages_) {
    StageState& st = *stp;
    Tensor here = copy_of(x, st.device, st.stream);
    Pass p = st.pass(st.weights);
    p.training = false;
    const TensorView y = st.net.net->forward(p, saved[static_cast<size_t>(st.index)], here);
    carry = copy_of(y, st.device, st.stream);  // the next stage copies from here
    st.stream.synchronize();
    x = carry;
  }
  StageState& last = *stages_.back();
  Tensor lab = copy_of(labels, last.device, last.stream);
  Tensor loss = loss_.loss(carry, lab, last.stream);
  Tensor counts = Tensor::zeros(Shape{2}, DType::I64, last.device, last.stream);
  kernels::accuracy_topk(carry, lab, counts, 5, last.stream);
  float host_loss = 0;
  int64_t c[2] = {0, 0};
  copy(TensorView(&host_loss, DType::F32, Device::cpu(), Shape{1}), loss, last.stream);
  copy(TensorView(c, DType::I64, Device::cpu(), Shape{2}), counts, last.stream);
  last.stream.synchronize();
  out.samples = labels.numel();
  out.loss_sum = double(host_loss) * out.samples;
  out.top1 = c[0];
  out.top5 = c[1];
  return out;
}

namespace {
std::vector<float> to_host(const Tensor& t, const Stream& s) {
  std::vector<float> v(static_cast<size_t>(t.numel()));
  if (t.numel() == 0) return v;
  copy(TensorView(v.data(), DType::F32, Device::cpu(), t.shape()), t, s);
  s.synchronize();
  return v;
}
void from_host(const std::vector<float>& v, const Tensor& t, const Stream& s, const char* what,
               int stage) {
  AUGUR_ARG_CHECK(static_cast<int64_t>(v.size()) == t.numel(), what, " of stage ", stage, " has ",
                  v.size(), " elements, the arena ", t.numel());
  if (v.empty()) return;
  copy(t, TensorView(const_cast<float*>(v.data()), DType::F32, Device::cpu(), t.shape()), s);
  s.synchronize();
}
}  // namespace

std::vector<std::vector<float>> Engine::weights() const {
  std::vector<std::vector<float>> out;
  for (const auto& st : stages_) out.push_back(to_host(st->weights, st->stream));
  return out;
}

std::vector<std::vector<float>> Engine::states() const {
  std::vector<std::vector<float>> out;
  for (const auto& st : stages_) out.push_back(to_host(st->state, st->stream));
  return out;
}

std::vector<std::vector<float>> Engine::optimizer_state(int index) const {
  std::vector<std::vector<float>> out;
  for (const auto& st : stages_) {
    const TensorView v = st->opt->state(index);
    std::vector<float> h(v.empty() ? 0 : static_cast<size_t>(v.numel()));
    if (!h.empty()) {
      copy(TensorView(h.data(), DType::F32, Device::cpu(), v.shape()), v, st->stream);
      st->stream.synchronize();
    }
    out.push_back(std::move(h));
  }
  return out;
}

void Engine::set_weights(const std::vector<std::vector<float>>& weights,
                         const std::vector<std::vector<float>>& states) {
  AUGUR_ARG_CHECK(weights.size() == stages_.size() && states.size() == stages_.size(),
                  "set_weights: ", weights.size(), " stages given for ", stages_.size());
  for (auto& st : stages_) {
    from_host(weights[st->index], st->weights, st->stream, "weights", st->index);
    from_host(states[st->index], st->state, st->stream, "state", st->index);
  }
}

void Engine::set_optimizer_state(int index, const std::vector<std::vector<float>>& state,
                                 int64_t steps_done) {
  AUGUR_ARG_CHECK(state.size() == stages_.size(), "optimizer state for ", state.size(),
                  " stages given to ", stages_.size());
  for (auto& st : stages_) {
    const TensorView v = st->opt->state(index);
    AUGUR_ARG_CHECK(static_cast<int64_t>(state[st->index].size()) == (v.empty() ? 0 : v.numel()),
                    "optimizer state ", index, " of stage ", st->index, " has ",
                    state[st->index].size(), " elements, expected ", v.numel());
    if (v.numel()) {
      copy(v,
           TensorView(const_cast<float*>(state[st->index].data()), DType::F32, Device::cpu(),
                      v.shape()),
           st->stream);
      st->stream.synchronize();
    }
    st->opt->set_steps_done(steps_done);
  }
}

std::vector<std::vector<float>> Engine::last_gradients() const {
  std::vector<std::vector<float>> out;
  for (const auto& st : stages_)
    out.push_back(st->last_grads.empty() ? std::vector<float>()
                                         : to_host(st->last_grads, st->stream));
  return out;
}

void Engine::set_last_gradients(const std::vector<std::vector<float>>& grads) {
  AUGUR_ARG_CHECK(grads.size() == stages_.size(), "last gradients for ", grads.size(),
                  " stages given to ", stages_.size());
  for (auto& st : stages_) {
    const auto& g = grads[static_cast<size_t>(st->index)];
    if (g.empty()) {
      st->last_grads = Tensor();
      continue;
    }
    st->last_grads = Tensor::empty(st->grads.shape(), DType::F32, st->device, &st->stream);
    from_host(g, st->last_grads, st->stream, "last gradient", st->index);
  }
}

void Engine::export_model(SafetensorsWriter* out) const {
  for (const auto& st : stages_) {
    export_parameters(st->net, to_host(st->weights, st->stream), out);
    export_buffers(st->net, to_host(st->state, st->stream), out);
  }
}

}  // namespace augur
