#include "pipeline/simulator.h"

#include <algorithm>
#include <map>
#include <queue>
#include <sstream>
#include <tuple>

#include "pipeline/schedule_text.h"
#include "pipeline/staleness.h"
#include "pipeline/transport.h"
#include "runtime/error.h"

namespace augur {

namespace {

constexpr double kNotSent = -1;

const char* category(ActionKind k) {
  switch (k) {
    case ActionKind::Forward: return "forward";
    case ActionKind::Backward: return "backward";
    case ActionKind::Step: return "step";
    case ActionKind::SendAct:
    case ActionKind::SendGrad: return "send";
    case ActionKind::RecvAct:
    case ActionKind::RecvGrad: return "wait";
  }
  return "?";
}

// The send a receive waits for, and the stage that performs it.
Action matching_send(const Action& recv) {
  if (recv.kind == ActionKind::RecvAct)
    return {ActionKind::SendAct, recv.stage - 1, recv.micro_batch};
  return {ActionKind::SendGrad, recv.stage + 1, recv.micro_batch};
}

class Simulation {
 public:
  Simulation(const Schedule& s, const CostModel& c, const SimulationOptions& o)
      : s_(s), costs_(c), opt_(o), k_(size_t(s.stages)), m_(size_t(s.micro_batches)) {
    pos_.assign(k_, 0);
    clock_.assign(k_, 0.0);
    channel_free_.assign(k_, 0.0);
    busy_.assign(k_, 0.0);
    queued_.assign(k_, 0);
    act_arrival_.assign(k_ * m_, kNotSent);
    grad_arrival_.assign(k_ * m_, kNotSent);
    granted_.assign(k_, 0);
    reduced_.assign(k_, 0);
    device_of_.assign(k_, -1);
    if (!c.device.empty()) {
      AUGUR_ARG_CHECK(c.device.size() == k_, "simulate: ", c.device.size(), " device labels for ",
                      k_, " stages");
      std::map<int, std::vector<size_t>> by_label;
      for (size_t r = 0; r < k_; ++r) by_label[c.device[r]].push_back(r);
      for (const auto& [label, stages] : by_label) {
        if (stages.size() < 2) continue;  // alone on its device: nothing to share
        for (size_t r : stages) device_of_[r] = int(devices_.size());
        devices_.emplace_back();
      }
    }
  }

  void run() {
    for (size_t r = k_; r-- > 0;) wake(r);
    for (;;) {
      while (!ready_.empty()) {
        const size_t r = ready_.back();
        ready_.pop_back();
        queued_[r] = 0;
        advance(r);
      }
      if (!grant()) break;
    }
  }

  SimulationResult result() const {
    SimulationResult out;
    out.stages.resize(k_);
    double makespan = 0;
    for (size_t r = 0; r < k_; ++r) {
      out.stages[r].busy_us = busy_[r];
      out.stages[r].finish_us = std::max(clock_[r], channel_free_[r]);
      makespan = std::max(makespan, out.stages[r].finish_us);
      if (pos_[r] < s_.actions[r].size()) out.deadlocked = true;
    }
    out.makespan_us = makespan;
    double busy = 0;
    for (size_t r = 0; r < k_; ++r) {
      busy += busy_[r];
      out.stages[r].utilisation = makespan > 0 ? busy_[r] / makespan : 0;
    }
    out.bubble_fraction = makespan > 0 ? 1.0 - busy / (double(k_) * makespan) : 0;
    if (out.deadlocked) out.deadlock = describe_deadlock();
    return out;
  }

 private:
  void wake(size_t r) {
    if (!queued_[r]) {
      queued_[r] = 1;
      ready_.push_back(r);
    }
  }

  // Wakes stage r when it is stopped exactly at `recv`.
  void deliver(size_t r, const Action& recv) {
    const auto& list = s_.actions[r];
    if (pos_[r] < list.size() && list[pos_[r]] == recv) wake(r);
  }

  // False when stage r must first ask for its shared device (then it stops here).
  bool compute(size_t r, const Action& a, double* t, double cost) {
    const int d = device_of_[r];
    if (d >= 0 && !granted_[r]) {
      devices_[size_t(d)].waiting.push({*t, r});
      return false;
    }
    granted_[r] = 0;
    if (opt_.trace && cost > 0) emit(r, kTraceComputeTid, a, *t, cost);
    *t += cost;
    busy_[r] += cost;
    if (d >= 0) devices_[size_t(d)].free_at = *t;
    return true;
  }

  // Lets the waiting compute that can start earliest go (ties: the earlier request, then the
  // lower stage); false when nothing waits.
  bool grant() {
    Device* best = nullptr;
    double best_start = 0;
    for (Device& dev : devices_) {
      if (dev.waiting.empty()) continue;
      const auto [asked, r] = dev.waiting.top();
      const double start = std::max(asked, dev.free_at);
      if (!best ||
          std::make_tuple(start, asked, r) <
              std::make_tuple(best_start, best->waiting.top().first, best->waiting.top().second)) {
        best = &dev;
        best_start = start;
      }
    }
    if (!best) return false;
    const size_t r = best->waiting.top().second;
    best->waiting.pop();
    granted_[r] = 1;
    clock_[r] = best_start;
    wake(r);
    return true;
  }

  void send(size_t r, const Action& a, double t, double bytes, double* arrival) {
    const double start = std::max(t, channel_free_[r]);
    const double took = costs_.link.transfer_us(bytes);
    channel_free_[r] = start + took;
    *arrival = start + took;
    if (opt_.trace && took > 0) {
      TraceEvent e = event(r, kTraceCommTid, a, start, took);
      e.args["bytes"] = bytes;
      opt_.trace->add(std::move(e));
      TraceFlow f = flow(a);
      f.pid = int(r);
      f.tid = kTraceCommTid;
      f.ts_us = start;
      opt_.trace->add_flow(std::move(f));
    }
  }

  // False when the message has not been delivered yet.
  bool receive(size_t r, const Action& a, double* t, double arrival) {
    if (arrival == kNotSent) return false;
    if (opt_.trace && arrival > *t) emit(r, kTraceComputeTid, a, *t, arrival - *t);
    *t = std::max(*t, arrival);
    if (opt_.trace && has_transfer(a)) {
      // Binds to the next slice on the compute track: the action that uses the message.
      const Action send = matching_send(a);
      TraceFlow f = flow(send);
      f.start = false;
      f.pid = int(r);
      f.tid = kTraceComputeTid;
      f.ts_us = *t;
      opt_.trace->add_flow(std::move(f));
    }
    return true;
  }

  // Data parallelism: the replicas' gradient average before a Step holds the stage (once,
  // even when the Step then waits for a shared device and is resumed).
  void allreduce(size_t r, const Action& a, double* t, double bytes) {
    if (costs_.allreduce.replicas <= 1 || reduced_[r]) return;
    reduced_[r] = 1;
    const double took = costs_.allreduce.time_us(bytes);
    if (opt_.trace && took > 0) {
      TraceEvent e = event(r, kTraceCommTid, a, *t, took);
      e.name = std::to_string(r) + "AR";
      e.category = "allreduce";
      e.args["bytes"] = bytes;
      e.args["replicas"] = costs_.allreduce.replicas;
      opt_.trace->add(std::move(e));
    }
    *t += took;
  }

  // The arrow of the message a send action starts (message_flow, as the engine names it).
  static TraceFlow flow(const Action& send) {
    const bool act = send.kind == ActionKind::SendAct;
    return message_flow(0, 0, send.stage, act ? send.stage + 1 : send.stage - 1,
                        act ? MessageKind::Activation : MessageKind::Gradient, send.micro_batch);
  }

  // Whether the send of a receive's message took time (then its arrow was started).
  bool has_transfer(const Action& recv) const {
    const StageCost& c = costs_.stages[size_t(matching_send(recv).stage)];
    const double bytes = recv.kind == ActionKind::RecvAct ? c.activation_bytes : c.gradient_bytes;
    return costs_.link.transfer_us(bytes) > 0;
  }

  TraceEvent event(size_t r, int tid, const Action& a, double start, double duration) const {
    TraceEvent e;
    e.name = a.str();
    e.category = category(a.kind);
    e.pid = int(r);
    e.tid = tid;
    e.start_us = start;
    e.duration_us = duration;
    if (a.kind != ActionKind::Step) e.args["micro_batch"] = a.micro_batch;
    return e;
  }

  void emit(size_t r, int tid, const Action& a, double start, double duration) {
    opt_.trace->add(event(r, tid, a, start, duration));
  }

  void advance(size_t r) {
    const auto& list = s_.actions[r];
    const StageCost& c = costs_.stages[r];
    size_t p = pos_[r];
    double t = clock_[r];
    for (; p < list.size(); ++p) {
      const Action& a = list[p];
      const size_t mb = size_t(a.micro_batch);
      bool done = true;
      switch (a.kind) {
        case ActionKind::Forward: done = compute(r, a, &t, c.forward_us); break;
        case ActionKind::Backward: done = compute(r, a, &t, c.backward_us); break;
        case ActionKind::Step:
          allreduce(r, a, &t, c.gradient_arena_bytes);
          done = compute(r, a, &t, c.step_us);
          if (done) reduced_[r] = 0;
          break;
        case ActionKind::SendAct:
          send(r, a, t, c.activation_bytes, &act_arrival_[r * m_ + mb]);
          deliver(r + 1, {ActionKind::RecvAct, int(r) + 1, a.micro_batch});
          break;
        case ActionKind::SendGrad:
          send(r, a, t, c.gradient_bytes, &grad_arrival_[r * m_ + mb]);
          deliver(r - 1, {ActionKind::RecvGrad, int(r) - 1, a.micro_batch});
          break;
        case ActionKind::RecvAct: done = receive(r, a, &t, act_arrival_[(r - 1) * m_ + mb]); break;
        case ActionKind::RecvGrad:
          done = receive(r, a, &t, grad_arrival_[(r + 1) * m_ + mb]);
          break;
      }
      if (!done) break;
    }
    pos_[r] = p;
    clock_[r] = t;
  }

  Deadlock describe_deadlock() const {
    Deadlock d;
    d.positions = pos_;
    std::vector<std::string> notes(k_);
    std::ostringstream msg;
    msg << "deadlock: the " << schedule_name(s_.kind) << " schedule (" << k_ << " stages, " << m_
        << " micro-batches) stops with no stage able to move\n";
    for (size_t r = 0; r < k_; ++r) {
      const auto& list = s_.actions[r];
      if (pos_[r] >= list.size()) continue;
      d.blocked_stages.push_back(int(r));
      const Action& a = list[pos_[r]];
      const Action want = matching_send(a);
      const auto& sender = s_.actions[size_t(want.stage)];
      const auto it =
          std::find(sender.begin() + std::ptrdiff_t(pos_[size_t(want.stage)]), sender.end(), want);
      std::ostringstream why;
      why << "waits for " << want.str() << ", ";
      if (it == sender.end()) {
        why << "which stage " << want.stage << "'s list does not hold";
      } else {
        const size_t at = size_t(it - sender.begin());
        const Action& blocker = sender[pos_[size_t(want.stage)]];
        why << "at position " << at << " of stage " << want.stage << ", behind its blocked "
            << blocker.str();
      }
      notes[r] = why.str();
      msg << "  stage " << r << " blocked at position " << pos_[r] << " on " << a.str() << ": "
          << notes[r] << "\n";
    }
    d.message = msg.str();
    d.grid = format_grid(s_, pos_, notes);
    return d;
  }

  const Schedule& s_;
  const CostModel& costs_;
  const SimulationOptions& opt_;
  const size_t k_, m_;
  std::vector<size_t> pos_;
  std::vector<double> clock_, channel_free_, busy_;
  std::vector<char> queued_;
  std::vector<size_t> ready_;
  // Shared devices: the compute requests waiting for each (earliest request first) and when
  // it is next free; device_of_[stage] indexes them (-1: the stage has a device to itself).
  struct Device {
    using Request = std::pair<double, size_t>;  // (asked at, stage)
    std::priority_queue<Request, std::vector<Request>, std::greater<Request>> waiting;
    double free_at = 0;
  };
  std::vector<Device> devices_;
  std::vector<int> device_of_;
  std::vector<char> granted_;
  std::vector<char> reduced_;  // per stage: the all-reduce before its next Step is done
  // [sender stage * M + micro-batch]: when the message is delivered, or kNotSent.
  std::vector<double> act_arrival_, grad_arrival_;
};

void summarise_staleness(SimulationResult* out) {
  for (size_t r = 0; r < out->staleness.size(); ++r) {
    const auto& row = out->staleness[r];
    StageReport& st = out->stages[r];
    if (row.empty()) continue;
    const auto [lo, hi] = std::minmax_element(row.begin(), row.end());
    st.staleness_min = *lo;
    st.staleness_max = *hi;
    double sum = 0;
    for (int v : row) sum += v;
    st.staleness_mean = sum / double(row.size());
  }
}

}  // namespace

SimulationResult simulate(const Schedule& schedule, const CostModel& costs,
                          const SimulationOptions& options) {
  AUGUR_ARG_CHECK(schedule.lowered, "simulate: the ", schedule_name(schedule.kind),
                  " schedule is not lowered (run lower() first)");
  AUGUR_ARG_CHECK(costs.stages.size() == schedule.actions.size(), "simulate: ", costs.stages.size(),
                  " stage costs for ", schedule.actions.size(), " stages");
  VersionReport versions = version_report(schedule);  // checks the schedule first
  Simulation sim(schedule, costs, options);
  sim.run();
  SimulationResult out = sim.result();
  for (size_t r = 0; r < out.stages.size(); ++r) {
    out.stages[r].peak_in_flight = versions.peak_in_flight[r];
    out.stages[r].stash_versions = versions.stash_versions[r];
    out.stages[r].steps = versions.steps[r];
  }
  out.staleness = std::move(versions.staleness);
  summarise_staleness(&out);
  if (options.trace) {
    for (int r = 0; r < schedule.stages; ++r) {
      options.trace->set_process_name(r, "stage " + std::to_string(r));
      options.trace->set_thread_name(r, kTraceComputeTid, "compute");
      options.trace->set_thread_name(r, kTraceCommTid, "comms");
    }
  }
  return out;
}

}  // namespace augur
