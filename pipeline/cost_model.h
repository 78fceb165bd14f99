// What each action costs in the simulator: per-stage compute times and boundary sizes, and a
// link model. Stage costs come from uniform values, or from per-unit costs (measured by the
// unit profiler, or the partitioner's analytic estimate) summed over each stage's contiguous
// range of units. A step touches 7 f32 words per parameter (read w, v, g; write w, v, the
// predicted w, the zeroed g) at memory_bytes_per_s.
#pragma once

#include <string>
#include <vector>

#include "models/resnet_spec.h"
#include "pipeline/partitioner.h"

namespace augur {

struct StageCost {
  double forward_us = 0;
  double backward_us = 0;
  double step_us = 0;
  double activation_bytes = 0;  // sent to stage + 1 per micro-batch (the last stage: 0)
  double gradient_bytes = 0;    // sent to stage - 1 per micro-batch (stage 0: 0)
  // Its f32 gradient arena: what data parallelism all-reduces before each Step.
  double gradient_arena_bytes = 0;
};

// One message of n bytes takes latency_us + n / bytes_per_us; bytes_per_us = 0 means the
// bandwidth term is free.
struct LinkModel {
  double latency_us = 0;
  double bytes_per_us = 0;
  double transfer_us(double bytes) const;
  // Gigabits per second (network convention: 1 Gbit/s = 125 bytes per microsecond).
  static LinkModel from_gbps(double gigabits_per_s, double latency_us = 0);
};

// Data parallelism: R replicas of the pipeline run the same lists side by side (so one is
// simulated), and before each Step the R replicas of a stage average its gradient arena over
// `link`, which holds the stage until it is done (the engine waits for it before stepping).
struct AllReduceModel {
  int replicas = 1;
  LinkModel link;
  // The bandwidth-optimal ring: 2 (R - 1) rounds, each moving bytes / R and paying the
  // latency once (NCCL's reduce to replica 0 then broadcast moves as much per link); 0 for
  // one replica or no bytes (the engine skips an empty arena).
  double time_us(double bytes) const;
};

struct CostModel {
  std::vector<StageCost> stages;
  LinkModel link;
  AllReduceModel allreduce;
  // The device each stage runs on (any labels; empty: every stage has its own). Stages with
  // the same label take turns on it: one compute action at a time, granted first come, first
  // served, as the engine's stages on one CPU do (see Simulation in simulator.cpp).
  std::vector<int> device;
};

CostModel uniform_costs(int stages, double forward_us, double backward_us, double step_us = 0,
                        double boundary_bytes = 0);

struct AnalyticDevice {
  double flops_per_s = 100e12;       // nominal sustained rate of an H100-class device
  double memory_bytes_per_s = 2e12;  // nominal HBM bandwidth
};

// Sums the unit costs (times for micro-batches of `micro_batch` samples) over each stage's
// units; `scale` multiplies times and bytes (to use costs measured at another micro-batch
// size). Throws when the balance does not cover the units.
std::vector<StageCost> stage_costs(const std::vector<UnitCost>& units, int64_t micro_batch,
                                   const std::vector<int>& balance,
                                   const AnalyticDevice& device = {}, double scale = 1.0);

}  // namespace augur
