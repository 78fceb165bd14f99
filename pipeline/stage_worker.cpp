#include "pipeline/stage_worker.h"

#include "kernels/convert.h"
#include "kernels/norms.h"
#include "pipeline/engine_options.h"
#include "runtime/host_data.h"

namespace augur {

namespace {
const char* trace_category(ActionKind k) {
  switch (k) {
    case ActionKind::Forward: return "forward";
    case ActionKind::Backward: return "backward";
    case ActionKind::Step: return "step";
    default: return "comm";
  }
}
std::chrono::steady_clock::time_point deadline_after(double seconds) {
  return std::chrono::steady_clock::now() +
         std::chrono::microseconds(static_cast<int64_t>(seconds * 1e6));
}
bool computes(ActionKind k) {
  return k == ActionKind::Forward || k == ActionKind::Backward || k == ActionKind::Step;
}
}  // namespace

StageWorker::StageWorker(int index, StageNet net, const Device& device,
                         const std::vector<float>& weights, const std::vector<float>& state,
                         const optim::OptimizerConfig& optimizer, const optim::LrSchedule& schedule,
                         bool decay_norm_and_bias, DType compute_dtype)
    : index_(index), device_(device), net_(std::move(net)), compute_dtype_(compute_dtype) {
  require_device(device_);
  AUGUR_ARG_CHECK(compute_dtype == DType::F32 || compute_dtype == DType::BF16, "stage ", index_,
                  ": compute dtype ", dtype_name(compute_dtype), " (expected f32 or bf16)");
  AUGUR_ARG_CHECK(static_cast<int64_t>(weights.size()) == net_.params.size() &&
                      static_cast<int64_t>(state.size()) == net_.state.size(),
                  "stage ", index_, ": initial arenas do not match its layout");
  stream_ = Stream::create(device_);
  weights_ = copy_of(TensorView(const_cast<float*>(weights.data()), DType::F32, Device::cpu(),
                                Shape{net_.params.size()}),
                     device_, stream_);
  state_ = copy_of(TensorView(const_cast<float*>(state.data()), DType::F32, Device::cpu(),
                              Shape{net_.state.size()}),
                   device_, stream_);
  grads_ = Tensor::zeros(Shape{net_.params.size()}, DType::F32, device_, stream_);
  optim::DecayMask mask(net_.params.size(), net_.params.decay_ranges(decay_norm_and_bias));
  opt_ =
      std::make_unique<optim::Optimizer>(optimizer, schedule, mask, device_, stream_, DType::F32);
  if (compute_dtype_ != DType::F32)
    compute_ = Tensor::empty(weights_.shape(), compute_dtype_, device_, &stream_);
  refresh_compute_weights();
  stream_.synchronize();  // the host vectors may die after this
  thread_ = std::thread([this] { thread_main(); });
}

void StageWorker::refresh_compute_weights() {
  if (compute_dtype_ != DType::F32) kernels::convert(weights_, compute_, stream_);
}

Tensor StageWorker::compute_input(const TensorView& input) const {
  if (input.dtype() == compute_dtype_) return copy_of(input, device_, stream_);
  const Tensor here = copy_of(input, device_, stream_);
  Tensor out = Tensor::empty(input.shape(), compute_dtype_, device_, &stream_);
  kernels::convert(here, out, stream_);
  return out;
}

StageWorker::~StageWorker() {
  {
    std::lock_guard<std::mutex> lock(job_mutex_);
    quit_ = true;
  }
  job_cv_.notify_all();
  thread_.join();
}

void StageWorker::start(const RunContext& context) {
  {
    std::lock_guard<std::mutex> lock(job_mutex_);
    AUGUR_CHECK(!has_job_, "stage ", index_, " was given a run while one is going");
    job_ = context;
    has_job_ = true;
  }
  job_cv_.notify_all();
}

void StageWorker::thread_main() {
  // The stage's device is current on this thread for its whole life; the kernels'
  // dispatcher makes each stream's device current as well, so nothing depends on this.
  // A failure to bind (the constructor already checked that the device exists) comes back
  // with the library's own message at the stage's first CUDA call.
  std::unique_ptr<DeviceGuard> bind;
  try {
    bind = std::make_unique<DeviceGuard>(device_);
  } catch (...) {
  }
  for (;;) {
    RunContext c;
    {
      std::unique_lock<std::mutex> lock(job_mutex_);
      job_cv_.wait(lock, [&] { return has_job_ || quit_; });
      if (quit_ && !has_job_) return;
      c = job_;
    }
    RecordItem done;
    done.kind = RecordItem::Kind::Done;
    done.stage = index_;
    try {
      execute(c);
    } catch (...) {
      done.error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(job_mutex_);
      has_job_ = false;
    }
    c.records->push(std::move(done));
  }
}

void StageWorker::execute(const RunContext& c) {
  const StageExecution& sp = c.plan->stage[static_cast<size_t>(index_)];
  const EngineOptions& o = *c.options;
  staleness_.assign(static_cast<size_t>(c.plan->micro_batches), -1);
  quality_.clear();
  {
    std::lock_guard<std::mutex> lock(busy_mutex_);
    busy_.clear();
    busy_recorded_ = 0;
    busy_resolved_ms_ = 0;
    busy_resolved_ = 0;
  }
  position_.store(0);
  for (size_t i = 0; i < sp.actions.size();) {
    position_.store(i);
    if (c.stop->load()) throw Error("stopped: the run was abandoned");
    const PlannedAction& a = sp.actions[i];
    if (!computes(a.action.kind)) {
      // A run of adjacent sends and receives goes to the transport as one group (or one by
      // one when grouping is switched off, to show what ungrouped issue order does).
      size_t end = i + 1;
      if (o.group_communication)
        while (end < sp.actions.size() && !computes(sp.actions[end].action.kind)) ++end;
      communicate(sp.actions, i, end, c);
      i = end;
      continue;
    }
    const CpuTurn::Scope turn(c.cpu_turn, device_.is_cpu() && o.cpu_stages_take_turns);
    std::unique_ptr<TraceScope> scope;
    if (o.trace)
      scope = std::make_unique<TraceScope>(o.trace, a.action.str(), trace_category(a.action.kind),
                                           trace_pid(o), kTraceComputeTid);
    // Busy time from an event pair around the action, read back later: the host never
    // waits for the device to measure it. Taken after the turn, so waiting is not busy.
    BusyPair* pair = nullptr;  // in busy_ (a deque: stable while it grows)
    {
      std::lock_guard<std::mutex> lock(busy_mutex_);
      busy_.push_back(BusyPair{Event(device_, true), Event(device_, true)});
      pair = &busy_.back();
    }
    pair->start.record(stream_);
    const int mb = a.action.micro_batch;
    switch (a.action.kind) {
      case ActionKind::Forward: forward(a, c); break;
      case ActionKind::Backward: backward(a, c); break;
      case ActionKind::Step: step(a, c); break;
      default: break;  // communication: above
    }
    pair->end.record(stream_);
    {
      std::lock_guard<std::mutex> lock(busy_mutex_);
      ++busy_recorded_;
    }
    if (a.action.kind == ActionKind::Backward) {
      RecordItem r;
      r.kind = RecordItem::Kind::Backward;
      r.stage = index_;
      r.micro_batch = mb;
      r.staleness = staleness_[static_cast<size_t>(mb)];
      r.quality = a.sample_quality ? quality_.back() : NAN;
      r.busy_pairs = busy_pairs();
      c.records->push(std::move(r));
    }
    ++i;
  }
  position_.store(sp.actions.size());
  stream_.synchronize();
}

int StageWorker::trace_pid(const EngineOptions& o) const {
  return index_ * o.trace_replicas + o.trace_replica;
}

Pass StageWorker::pass(const TensorView& w, BnStatsMode bn) const {
  return Pass::train(stream_, w, grads_, state_, bn);
}

void StageWorker::ensure_predicted() {
  // Allocated on first use: only stages with a stale forward under a predicting policy
  // hold W_hat (what memory_model_for counts).
  if (predicted_.empty())
    predicted_ = Tensor::empty(weights_.shape(), compute_dtype_, device_, &stream_);
}

Tensor StageWorker::take_stash() {
  if (stash_pool_.empty())
    return Tensor::empty(weights_.shape(), compute_dtype_, device_, &stream_);
  Tensor t = std::move(stash_pool_.back());
  stash_pool_.pop_back();
  return t;
}

void StageWorker::communicate(const std::vector<PlannedAction>& actions, size_t begin, size_t end,
                              const RunContext& c) {
  std::vector<CommOp> ops;
  std::string names;
  for (size_t i = begin; i < end; ++i) {
    const Action& a = actions[i].action;
    const int mb = a.micro_batch;
    names += (names.empty() ? "" : " ") + a.str();
    CommOp op;
    switch (a.kind) {
      case ActionKind::RecvAct:
        op = CommOp::receiving(index_ - 1, MessageKind::Activation, mb);
        if (c.stage_inputs) op.expect_shape = (*c.stage_inputs)[static_cast<size_t>(index_)];
        op.expect_dtype = compute_dtype_;  // activations travel in the compute dtype
        break;
      case ActionKind::RecvGrad: {
        op = CommOp::receiving(index_ + 1, MessageKind::Gradient, mb);
        // The gradient of this stage's output: its shape and dtype.
        auto it = inflight_.find(mb);
        if (it != inflight_.end() && !it->second.output.empty()) {
          op.expect_shape = it->second.output.shape();
          op.expect_dtype = it->second.output.dtype();
        }
        break;
      }
      case ActionKind::SendAct: {
        auto it = inflight_.find(mb);
        AUGUR_CHECK(it != inflight_.end() && !it->second.output.empty(), "SendAct of micro-batch ",
                    mb, " before its forward");
        op = CommOp::sending(index_ + 1, MessageKind::Activation, mb, it->second.output);
        break;
      }
      case ActionKind::SendGrad: {
        auto it = inflight_.find(mb);
        AUGUR_CHECK(it != inflight_.end() && !it->second.dx.empty(), "SendGrad of micro-batch ", mb,
                    " before its backward");
        const TensorView dx = it->second.dx.view();
        op = CommOp::sending(index_ - 1, MessageKind::Gradient, mb, dx, std::move(it->second.dx));
        inflight_.erase(it);
        break;
      }
      default: AUGUR_CHECK(false, "not a communication action: ", a.str());
    }
    ops.push_back(std::move(op));
  }
  const EngineOptions& o = *c.options;
  std::unique_ptr<TraceScope> scope;
  if (o.trace)
    scope = std::make_unique<TraceScope>(o.trace, names, "comm", trace_pid(o), kTraceCommTid);
  const double issued = TraceWriter::now_us();
  c.transport->exchange(index_, ops, stream_, deadline_after(o.watchdog_seconds));
  if (o.trace) {
    // An arrow from each send's group to its receive's group (ends inside the groups' slices).
    const double done = TraceWriter::now_us();
    for (const CommOp& op : ops) {
      const bool sent = op.op == CommOp::Kind::Send;
      TraceFlow f = message_flow(c.run_index, o.trace_replica, sent ? index_ : op.peer,
                                 sent ? op.peer : index_, op.kind, op.micro_batch);
      f.start = sent;
      f.enclosing = !sent;
      f.pid = trace_pid(o);
      f.tid = kTraceCommTid;
      f.ts_us = sent ? issued : done;
      o.trace->add_flow(std::move(f));
    }
  }
  for (CommOp& op : ops) {
    if (op.op != CommOp::Kind::Receive) continue;
    InFlight& f = inflight_[op.micro_batch];
    if (op.kind == MessageKind::Activation)
      f.received = std::move(op.received);
    else
      f.grad_in = std::move(op.received);
  }
}

void StageWorker::forward(const PlannedAction& a, const RunContext& c) {
  const int mb = a.action.micro_batch;
  InFlight& f = inflight_[mb];
  TensorView x;
  MicroBatch labels_from;  // where the loss reads its labels
  if (index_ == 0) {
    f.batch = (*c.source)(mb);
    f.input = compute_input(f.batch.images);
    x = f.input;
    labels_from = f.batch;
    if (a.send_labels) {
      Tensor labels = copy_of(f.batch.labels, Device::cpu(), Stream::cpu());
      const TensorView v = labels.view();
      c.transport->send(index_, c.plan->stages - 1, MessageKind::Labels, mb, v, std::move(labels),
                        stream_);
    }
  } else {
    AUGUR_CHECK(!f.received.view.empty(), "forward of micro-batch ", mb,
                " before its activation arrived");
    x = f.received.view;
  }
  // The weight version the plan chose.
  TensorView w = compute_weights();
  if (a.weights == WeightSource::Predicted) {
    if (a.predict_here) {
      ensure_predicted();
      optim::PredictRequest req{c.options->predictor, a.staleness, predicted_};
      opt_->predict(weights_, last_grads_, req, stream_);
    }
    w = predicted_;
  }
  if (a.stash) {
    f.stash = take_stash();
    copy(f.stash, w, stream_);
    w = f.stash;
  }
  f.forward_weights = w;
  if (a.sample_quality) {
    // Quality compares with the f32 master weights (a bf16 version is widened exactly).
    f.w_stale = copy_of(weights_, device_, stream_);
    f.w_hat = Tensor::empty(weights_.shape(), DType::F32, device_, &stream_);
    kernels::convert(w, f.w_hat, stream_);
  }
  f.steps_at_forward = opt_->steps_done();
  f.output = net_.net->forward(pass(w, c.options->bn_stats), f.saved, x);
  if (!a.loss) return;
  Message received_labels;
  if (index_ != 0 && !a.receive_labels) labels_from = (*c.source)(mb);  // read here
  TensorView label_view = labels_from.labels;
  if (a.receive_labels) {
    received_labels = c.transport->receive(index_, MessageKind::Labels, mb, stream_,
                                           deadline_after(c.options->watchdog_seconds));
    label_view = received_labels.view;
  }
  const Tensor labels = copy_of(label_view, device_, stream_);
  RecordItem r;
  r.kind = RecordItem::Kind::Loss;
  r.stage = index_;
  r.micro_batch = mb;
  r.loss = c.loss->train(f.output, labels, c.plan->gradient_scale, &f.dlogits, stream_);
  c.records->push(std::move(r));
}

void StageWorker::backward(const PlannedAction& a, const RunContext& c) {
  const int mb = a.action.micro_batch;
  auto it = inflight_.find(mb);
  AUGUR_CHECK(it != inflight_.end(), "backward of micro-batch ", mb, " before its forward");
  InFlight& f = it->second;
  TensorView dy;
  if (index_ == c.plan->stages - 1) {
    dy = f.dlogits;
  } else {
    AUGUR_CHECK(!f.grad_in.view.empty(), "backward of micro-batch ", mb,
                " before its gradient arrived");
    dy = f.grad_in.view;
  }
  const int64_t staleness = opt_->steps_done() - f.steps_at_forward;
  AUGUR_CHECK(staleness == a.staleness, "micro-batch ", mb, " ran with staleness ", staleness,
              " on stage ", index_, ", the plan says ", a.staleness);
  staleness_[static_cast<size_t>(mb)] = static_cast<int>(staleness);
  const TensorView w = a.weights == WeightSource::Forward ? f.forward_weights : compute_weights();
  f.dx = net_.net->backward(pass(w, c.options->bn_stats), f.saved, dy, a.send_input_gradient);
  if (a.sample_quality) {
    // W(i): the version this micro-batch should have used = the current weights.
    const auto hat = kernels::norm_diff_and_norm_host(f.w_hat, weights_, stream_);
    const auto stale = kernels::norm_diff_and_norm_host(f.w_stale, weights_, stream_);
    quality_.push_back(stale.diff > 0 ? hat.diff / stale.diff : 0.0);
  }
  if (!f.stash.empty()) stash_pool_.push_back(std::move(f.stash));
  if (!a.send_input_gradient) {
    inflight_.erase(it);  // nothing goes upstream
  } else {
    Tensor dx = std::move(f.dx);
    f = InFlight();
    f.dx = std::move(dx);
  }
}

void StageWorker::step(const PlannedAction& a, const RunContext& c) {
  if (c.options->bn_stats == BnStatsMode::Deferred)
    net_.net->finish_minibatch(pass(compute_weights(), BnStatsMode::Deferred));
  // Replicas of this stage in other pipelines (data parallelism) average their gradients
  // first; without replicas this does nothing.
  c.transport->average_gradients(index_, grads_, stream_,
                                 deadline_after(c.options->watchdog_seconds));
  if (a.keep_gradient) {
    // The last step of the run: keep its gradient for the next run's first predictions,
    // then zero the arena as a step would.
    opt_->step(weights_, grads_, stream_, nullptr, /*zero_grads=*/false, a.staleness, compute_);
    last_grads_ = copy_of(grads_, device_, stream_);
    grads_.zero(stream_);
    return;
  }
  if (a.predict_for >= 0) ensure_predicted();
  optim::PredictRequest req{c.options->predictor, a.horizon, predicted_};
  // bf16 mode: the same pass writes the bf16 copy of the new weights the next passes compute
  // with (compute_; empty in f32 mode), beside the predicted weights (bf16 too).
  opt_->step(weights_, grads_, stream_, a.predict_for >= 0 ? &req : nullptr, /*zero_grads=*/true,
             a.staleness, compute_);
}

size_t StageWorker::busy_pairs() const {
  std::lock_guard<std::mutex> lock(busy_mutex_);
  return busy_recorded_;
}

double StageWorker::busy_ms(size_t pairs) {
  std::unique_lock<std::mutex> lock(busy_mutex_);
  pairs = std::min(pairs, busy_recorded_);  // pairs whose end is recorded
  while (busy_resolved_ < pairs) {
    BusyPair& p = busy_[busy_resolved_];  // deque: stable while the worker appends
    lock.unlock();
    p.end.synchronize();
    const double ms = p.start.elapsed_ms(p.end);
    lock.lock();
    busy_resolved_ms_ += ms;
    ++busy_resolved_;
  }
  return busy_resolved_ms_;
}

}  // namespace augur
