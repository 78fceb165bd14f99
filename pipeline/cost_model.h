// What each action costs in the simulator: per-stage compute times and boundary sizes, and a
// link model. Stage costs come from uniform values, from a profile (measured, or the analytic
// estimate below) summed over each stage's contiguous range of units.
//
// The analytic estimate is nominal, not measured: forward time = 2 x multiply-adds x samples
// / flops_per_s, backward = backward_factor x forward (the usual two GEMM-shaped passes, one
// for input and one for weight gradients), and a step touches 7 f32 words per parameter (read
// w, v, g; write w, v, the predicted w, the zeroed g) at memory_bytes_per_s.
#pragma once

#include <string>
#include <vector>

#include "models/resnet_spec.h"
#include "pipeline/profile.h"

namespace augur {

struct StageCost {
  double forward_us = 0;
  double backward_us = 0;
  double step_us = 0;
  double activation_bytes = 0;  // sent to stage + 1 per micro-batch (the last stage: 0)
  double gradient_bytes = 0;    // sent to stage - 1 per micro-batch (stage 0: 0)
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

struct CostModel {
  std::vector<StageCost> stages;
  LinkModel link;
};

CostModel uniform_costs(int stages, double forward_us, double backward_us, double step_us = 0,
                        double boundary_bytes = 0);

struct AnalyticDevice {
  double flops_per_s = 100e12;       // nominal sustained rate of an H100-class device
  double memory_bytes_per_s = 2e12;  // nominal HBM bandwidth
  double backward_factor = 2.0;
};

// A profile from the model's multiply-adds and output sizes, for micro-batches of
// `micro_batch_size` samples.
Profile analytic_profile(const ModelSpec& model, int micro_batch_size,
                         const AnalyticDevice& device = {});

// Per stage, its unit count: a contiguous split whose boundaries sit nearest to equal shares
// of the summed cost (every stage gets at least one unit). A stand-in for the partitioner.
std::vector<int> even_balance(const std::vector<double>& unit_costs, int stages);
// "3,4,4,2" -> {3, 4, 4, 2}; throws on anything but positive integers separated by commas.
std::vector<int> parse_balance(const std::string& text);

// Sums the profile over each stage's units; `scale` multiplies times and bytes (to use a
// profile at another micro-batch size). Throws when the balance does not cover the units.
std::vector<StageCost> stage_costs(const Profile& profile, const std::vector<int>& balance,
                                   const AnalyticDevice& device = {}, double scale = 1.0);

}  // namespace augur
