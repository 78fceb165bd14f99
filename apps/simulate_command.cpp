// `augur simulate`: runs a pipeline schedule through the simulator with uniform, analytic
// (a model's multiply-adds) or measured (a profile JSON) costs and prints makespan, bubble,
// per-stage utilisation, memory and the realised staleness; optionally a Chrome trace. With
// --measure-on it first times every unit of --model on a device (the unit profiler) and can
// save that profile, so a GPU's measured costs project pipelines of that GPU.
#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "apps/commands.h"
#include "apps/flag_checks.h"
#include "apps/stage_flags.h"
#include "models/resnet_spec.h"
#include "pipeline/cost_model.h"
#include "pipeline/lowering.h"
#include "pipeline/partitioner.h"
#include "pipeline/schedule_generators.h"
#include "pipeline/schedule_text.h"
#include "pipeline/simulation_report.h"
#include "pipeline/simulator.h"
#include "pipeline/unit_profiler.h"
#include "runtime/error.h"
#include "runtime/limits.h"
#include "runtime/trace.h"

namespace augur {

namespace {

// A trace holds one JSON object per event; beyond this it would not fit in memory usefully.
constexpr size_t kMaxTraceActions = 2000000;

struct SimulateOptions {
  std::string schedule;
  int stages = 1;
  int micro_batches = 1;
  std::string model, profile, balance, trace, measure_on, save_profile, devices;
  int image_size = 224;
  int input_channels = 3;
  int repeats = 5;
  int num_classes = 1000;
  int batch_size = 0;  // 0: 32 samples per micro-batch
  double link_gbps = 0, link_latency_us = 0;
  int replicas = 1;
  double allreduce_gbps = -1, allreduce_latency_us = -1;  // -1: the link's
  double gradient_arena_bytes = 0;
  double forward_ms = 1, backward_ms = 2, step_ms = 0, boundary_bytes = 0;
  double device_tflops = 100, device_memory_gbs = 2000;
  bool show_lists = false;
};

std::string fixed(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

struct Costs {
  CostModel model;
  std::vector<std::string> units;  // per stage, the unit range ("" for uniform costs)
  std::string description;
};

Costs build_costs(const SimulateOptions& o, const CLI::App& sub) {
  Costs c;
  const bool have_model = !o.model.empty(), have_profile = !o.profile.empty();
  if (!have_model && !have_profile) {
    for (const char* flag : {"--measure-on", "--balance", "--batch-size", "--image-size",
                             "--num-classes", "--input-channels"})
      if (sub.count(flag)) throw CLI::ValidationError(flag, "needs --model or --profile");
    c.model = uniform_costs(o.stages, o.forward_ms * 1e3, o.backward_ms * 1e3, o.step_ms * 1e3,
                            o.boundary_bytes);
    for (StageCost& s : c.model.stages) s.gradient_arena_bytes = o.gradient_arena_bytes;
    c.units.assign(size_t(o.stages), "");
    c.description = "uniform: forward " + fixed(o.forward_ms, 3) + " ms, backward " +
                    fixed(o.backward_ms, 3) + " ms, step " + fixed(o.step_ms, 3) + " ms, " +
                    fixed(o.boundary_bytes, 0) + " bytes per boundary message";
    return c;
  }
  AnalyticDevice device;
  device.flops_per_s = o.device_tflops * 1e12;
  device.memory_bytes_per_s = o.device_memory_gbs * 1e9;
  if (o.batch_size && o.batch_size % o.micro_batches != 0)
    throw CLI::ValidationError("--batch-size", std::to_string(o.batch_size) +
                                                   " is not divisible by --micro-batches " +
                                                   std::to_string(o.micro_batches));
  std::vector<UnitCost> units;
  double scale = 1;
  int micro = o.batch_size ? o.batch_size / o.micro_batches : 32;
  int64_t costed_micro = micro;
  if (!o.measure_on.empty()) {
    if (!have_model) throw CLI::ValidationError("--measure-on", "needs --model");
    if (have_profile) throw CLI::ValidationError("--measure-on", "excludes --profile");
    const Device on = Device::parse(o.measure_on);
    ResNetOptions ro{o.num_classes, o.input_channels, o.image_size};
    const UnitProfile profile = profile_units(resnet_spec(o.model, ro), micro, on, o.repeats);
    if (!o.save_profile.empty()) save_profile_json(profile, o.save_profile);
    units = profile.units;
    c.description = "measured on " + profile.device_description + ": " + o.model + " at " +
                    std::to_string(o.image_size) + "x" + std::to_string(o.image_size) +
                    ", median of " + std::to_string(o.repeats) + " runs per unit";
    if (!o.save_profile.empty()) c.description += ", saved to " + o.save_profile;
  } else if (have_profile) {
    const UnitProfile profile = load_profile_json(o.profile);
    if (have_model && o.model != profile.model)
      throw Error("--model " + o.model + " does not match the profile's model '" + profile.model +
                  "'");
    if (!o.batch_size) micro = static_cast<int>(profile.micro_batch);
    costed_micro = profile.micro_batch;
    scale = double(micro) / profile.micro_batch;
    units = profile.units;
    c.description = "profile " + o.profile + " (" + profile.model + " on " + profile.device +
                    ", micro-batches of " + std::to_string(profile.micro_batch) + ")";
    if (scale != 1) c.description += ", scaled linearly to " + std::to_string(micro) + " samples";
  } else {
    ResNetOptions ro{o.num_classes, o.input_channels, o.image_size};
    units = analytic_unit_costs(resnet_spec(o.model, ro), micro, device.flops_per_s);
    c.description = "analytic " + o.model + " at " + std::to_string(o.image_size) + "x" +
                    std::to_string(o.image_size) + ": " + fixed(o.device_tflops, 0) +
                    " TFLOP/s, backward = 2.0 x forward, steps at " +
                    fixed(o.device_memory_gbs, 0) + " GB/s";
  }
  c.description += "\n       mini-batch " + std::to_string(micro * o.micro_batches) + " = " +
                   std::to_string(o.micro_batches) + " micro-batches x " + std::to_string(micro) +
                   " samples";
  const std::vector<int> balance =
      !o.balance.empty() ? parse_balance(o.balance, static_cast<int>(units.size()), o.stages)
                         : partition(units, o.stages, MemoryModel{});
  c.model.stages = stage_costs(units, costed_micro, balance, device, scale);
  size_t u = 0;
  for (int n : balance) {
    std::string range = units[u].name;
    if (n > 1) range += ".." + units[u + size_t(n) - 1].name;
    c.units.push_back(range + " (" + std::to_string(n) + ")");
    u += size_t(n);
  }
  return c;
}

int run_simulate(const SimulateOptions& o, const CLI::App& sub) {
  const ScheduleKind kind = parse_schedule_kind(o.schedule);
  Costs costs = build_costs(o, sub);
  costs.model.link = LinkModel::from_gbps(o.link_gbps, o.link_latency_us);
  costs.model.allreduce.replicas = o.replicas;
  costs.model.allreduce.link = LinkModel::from_gbps(
      o.allreduce_gbps >= 0 ? o.allreduce_gbps : o.link_gbps,
      o.allreduce_latency_us >= 0 ? o.allreduce_latency_us : o.link_latency_us);
  if (!o.devices.empty()) {
    // Stages named with the same device share it (one compute at a time), as in the engine.
    std::vector<std::string> seen;
    for (const std::string& d : devices_per_stage(o.devices, o.stages)) {
      const auto it = std::find(seen.begin(), seen.end(), d);
      costs.model.device.push_back(int(it - seen.begin()));
      if (it == seen.end()) seen.push_back(d);
    }
    costs.description += "\n       devices " + o.devices + " (stages on one device take turns)";
  }

  const auto t0 = std::chrono::steady_clock::now();
  const Schedule schedule = lower(make_schedule(kind, o.stages, o.micro_batches));
  size_t actions = 0;
  for (const auto& list : schedule.actions) actions += list.size();
  if (!o.trace.empty() && actions > kMaxTraceActions)
    throw Error("--trace: the schedule has " + std::to_string(actions) +
                " actions; a trace is limited to " + std::to_string(kMaxTraceActions) +
                " (use fewer stages or micro-batches)");
  TraceWriter writer;
  SimulationOptions sim_options;
  if (!o.trace.empty()) sim_options.trace = &writer;
  const SimulationResult result = simulate(schedule, costs.model, sim_options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::cout << "schedule: " << schedule_name(kind) << ", " << o.stages << " stages x "
            << o.micro_batches << " micro-batches, " << actions << " actions after lowering ("
            << fixed(seconds, 2) << " s to generate and simulate)\n";
  std::cout << "costs: " << costs.description << "\n";
  std::cout << "link:  ";
  if (o.link_gbps == 0 && o.link_latency_us == 0) {
    std::cout << "free (no --link-gbps or --link-latency-us)\n";
  } else {
    std::cout << (o.link_gbps > 0 ? fixed(o.link_gbps, 1) + " Gbit/s" : "unlimited bandwidth")
              << ", " << fixed(o.link_latency_us, 1)
              << " us latency; one channel per stage, messages in list order\n";
  }
  if (o.replicas > 1) {
    const LinkModel& l = costs.model.allreduce.link;
    std::cout << "data parallel: " << o.replicas << " replicas (" << o.replicas * o.stages
              << " processes, " << o.replicas << " x the samples per step); before each Step a "
              << "stage's replicas all-reduce its gradients over "
              << (l.bytes_per_us > 0 ? fixed(l.bytes_per_us * 8e6 / 1e9, 1) + " Gbit/s"
                                     : "unlimited bandwidth")
              << ", " << fixed(l.latency_us, 1) << " us latency (ring: 2(R-1) rounds of 1/R)\n";
    std::cout << "all-reduce ms per step:";
    for (const StageCost& c : costs.model.stages)
      std::cout << " " << fixed(costs.model.allreduce.time_us(c.gradient_arena_bytes) / 1e3, 3);
    std::cout << "\n";
  }
  if (o.model.empty() && o.profile.empty()) {
    std::cout << "\n(every stage costs the same)\n";
  } else {
    std::cout << "\nstage  forward ms  backward ms  step ms  act MB out  units\n";
    for (size_t r = 0; r < costs.model.stages.size(); ++r) {
      const StageCost& c = costs.model.stages[r];
      std::cout << std::setw(5) << r << std::setw(12) << fixed(c.forward_us / 1e3, 3)
                << std::setw(13) << fixed(c.backward_us / 1e3, 3) << std::setw(9)
                << fixed(c.step_us / 1e3, 3) << std::setw(12) << fixed(c.activation_bytes / 1e6, 2)
                << "  " << costs.units[r] << "\n";
    }
  }
  if (o.show_lists) std::cout << "\nlowered lists:\n" << format_schedule(schedule);
  std::cout << "\n" << format_simulation_report(schedule, result);
  if (!o.trace.empty()) {
    writer.write(o.trace);
    std::cout << "\ntrace: " << o.trace << " (" << writer.size() << " events)\n";
  }
  return result.deadlocked ? 1 : 0;
}

}  // namespace

void register_simulate_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand(
      "simulate", "Simulate a pipeline schedule: makespan, bubble, utilisation, staleness");
  auto o = std::make_shared<SimulateOptions>();
  sub->add_option("--pp-schedule", o->schedule, "Schedule")
      ->required()
      ->check(CLI::IsMember(schedule_names()));
  sub->add_option("--pp-stages", o->stages, "Pipeline stages K")
      ->check(integer_in(1, limits::kStages));
  sub->add_option("--micro-batches", o->micro_batches, "Micro-batches M per mini-batch")
      ->check(positive_integer(limits::kMicroBatches));
  std::string names;
  for (const auto& n : resnet_names()) names += (names.empty() ? "" : ", ") + n;
  sub->add_option("--model", o->model, "Analytic costs from this model (" + names + ")")
      ->check(CLI::IsMember(resnet_names()));
  sub->add_option("--image-size", o->image_size, "Input side in pixels for --model")
      ->check(positive_integer(limits::kImageSide));
  sub->add_option("--num-classes", o->num_classes, "Classifier outputs for --model")
      ->check(positive_integer(limits::kClasses));
  sub->add_option("--batch-size", o->batch_size,
                  "Mini-batch size, split into M micro-batches (default 32 per micro-batch, or "
                  "the profile's)")
      ->check(positive_integer(limits::kBatchSize));
  sub->add_option("--profile", o->profile,
                  "Measured per-unit costs (augur-unit-profile JSON from the unit profiler)")
      ->check(CLI::ExistingFile);
  sub->add_option("--measure-on", o->measure_on,
                  "Measure --model's per-unit costs on this device (cpu, cuda:N) instead of "
                  "estimating them");
  sub->add_option("--repeats", o->repeats, "Timed runs per unit for --measure-on (median kept)")
      ->check(positive_integer());
  sub->add_option("--save-profile", o->save_profile,
                  "Write the costs measured by --measure-on as a profile JSON (for --profile)");
  sub->add_option("--input-channels", o->input_channels, "Input channels for --model")
      ->check(positive_integer(limits::kInChannels));
  sub->add_option("--balance", o->balance,
                  "Units per stage, e.g. 3,4,4,2 (default: an even split by cost)");
  sub->add_option("--devices", o->devices,
                  "Device of each stage, comma-separated (or one for all): stages on the same "
                  "device share it (default: one device per stage)");
  sub->add_option("--link-gbps", o->link_gbps, "Link bandwidth in Gbit/s (0: free)")
      ->check(non_negative_real());
  sub->add_option("--link-latency-us", o->link_latency_us, "Link latency per message in us")
      ->check(non_negative_real());
  sub->add_option("--dp-replicas", o->replicas,
                  "Pipeline replicas R (data parallelism): each Step waits for an all-reduce of "
                  "the stage's gradients over R replicas")
      ->check(integer_in(1, limits::kStages));
  sub->add_option("--allreduce-gbps", o->allreduce_gbps,
                  "Bandwidth in Gbit/s of the replicas' all-reduce (default: --link-gbps; 0: free)")
      ->check(non_negative_real());
  sub->add_option("--allreduce-latency-us", o->allreduce_latency_us,
                  "Latency per all-reduce round in us (default: --link-latency-us)")
      ->check(non_negative_real());
  sub->add_option("--gradient-arena-bytes", o->gradient_arena_bytes,
                  "Uniform bytes of each stage's gradients, all-reduced with --dp-replicas (no "
                  "model; a model's come from its parameters)")
      ->check(non_negative_real());
  sub->add_option("--forward-ms", o->forward_ms, "Uniform forward time per stage (no model)")
      ->check(non_negative_real());
  sub->add_option("--backward-ms", o->backward_ms, "Uniform backward time per stage")
      ->check(non_negative_real());
  sub->add_option("--step-ms", o->step_ms, "Uniform optimizer step time per stage")
      ->check(non_negative_real());
  sub->add_option("--boundary-bytes", o->boundary_bytes, "Uniform bytes per boundary message")
      ->check(non_negative_real());
  sub->add_option("--device-tflops", o->device_tflops,
                  "Nominal sustained TFLOP/s for analytic costs (default 100)")
      ->check(positive_real());
  sub->add_option("--device-memory-gbs", o->device_memory_gbs,
                  "Nominal memory GB/s for analytic step costs (default 2000)")
      ->check(positive_real());
  sub->add_option(
      "--trace", o->trace,
      "Write a Chrome trace (pid = stage, tid 0 compute, 1 comms; an arrow per message)");
  sub->add_flag("--show-lists", o->show_lists, "Print the lowered action lists");
  set_command_runner(sub, [o, sub] {
    SimulateOptions opts = *o;
    for (const char* flag : {"--repeats", "--save-profile"})
      if (sub->count(flag) && opts.measure_on.empty())
        throw CLI::ValidationError(flag, "needs --measure-on");
    for (const char* flag : {"--forward-ms", "--backward-ms", "--step-ms", "--boundary-bytes",
                             "--gradient-arena-bytes"})
      if (sub->count(flag) && (!opts.model.empty() || !opts.profile.empty()))
        throw CLI::ValidationError(flag, "uniform costs do not combine with --model or --profile");
    if (!opts.model.empty()) {
      const ResNetDefaults d = resnet_defaults(opts.model);
      if (!sub->count("--image-size")) opts.image_size = d.image_size;
      if (!sub->count("--num-classes")) opts.num_classes = d.num_classes;
    }
    return run_simulate(opts, *sub);
  });
}

}  // namespace augur
