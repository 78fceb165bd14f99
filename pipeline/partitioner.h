// Splitting a model's units into K contiguous pipeline stages. Partitioning is a pure
// function over per-unit costs (time and memory), so it is tested with literal lists; the
// costs come from the units' analytic estimates (below) or from a measured profile
// (pipeline/unit_profiler.h). A partition is written as units per stage, the `--balance`
// form: {3, 4, 4, 2} puts units [0,3) on stage 0, [3,7) on stage 1 and so on.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/resnet_spec.h"
#include "pipeline/execution_plan.h"

namespace augur {

// What one unit costs for one micro-batch of the size it was estimated or measured at.
struct UnitCost {
  std::string name;
  double forward_ms = 0, backward_ms = 0;
  int64_t param_count = 0;
  int64_t input_bytes_per_sample = 0;       // the activation the unit reads
  int64_t activation_bytes_per_sample = 0;  // its output (what a stage boundary sends)
  // What its forward keeps for backward inside the unit (outputs of its convs, norms,
  // pools), its output included; the input is not (the previous unit or the stage owns it).
  int64_t saved_bytes_per_sample = 0;
  double time_ms() const { return forward_ms + backward_ms; }
};

// What a stage must hold on its device.
struct MemoryModel {
  int64_t device_bytes = 0;  // per-device limit; 0 or less: no limit
  // Parameter-sized copies besides the master weights, gradients and optimizer state: 1 is
  // the latest weights only; stashing adds a ring of versions, prediction a buffer. Use
  // weight_versions_per_stage when stages differ (see memory_model_for).
  int weight_versions = 1;
  std::vector<int> weight_versions_per_stage;  // empty: weight_versions on every stage
  int optimizer_state_copies = 1;              // SGD with momentum 1, AdamW 2, plain SGD 0
  int64_t micro_batch_size = 1;
  // Micro-batches whose forward activations a stage holds at once (memory_model_for below);
  // empty: 1 on every stage.
  std::vector<int> in_flight_per_stage;
  int64_t bytes_per_element = 4;  // f32 parameters and activations
};

// What a stage holds under a planned schedule, from the plan's own walk over the lists (one
// source of truth with the engine, which allocates exactly this): `in_flight_per_stage`,
// the forwards whose backward has not run at the worst moment, and
// `weight_versions_per_stage`, the master weights plus W_hat where a forward predicts plus
// one stash per stale micro-batch in flight under a stashing policy. The other fields come
// from `base`.
MemoryModel memory_model_for(const ExecutionPlan& plan, MemoryModel base);

// Forward plus backward time of units [first, end).
double stage_time_ms(const std::vector<UnitCost>& units, size_t first, size_t end);
// Bytes stage `stage` needs to hold units [first, end):
//   params * bytes * (1 weights + 1 gradients + optimizer_state_copies + weight_versions - 1)
//   + in_flight(stage) * micro_batch * (input activation + saved activations of the units).
int64_t stage_memory_bytes(const std::vector<UnitCost>& units, size_t first, size_t end, int stage,
                           const MemoryModel& memory);

// The partition into `stages` contiguous non-empty stages that minimises the slowest stage's
// forward+backward time with every stage within memory.device_bytes. Among splits with that
// bottleneck it takes the most even one (least sum of squared stage times), and among those
// the one whose earlier stages have fewer units. Throws a clear error for more stages than units,
// for a unit that fits on no stage by itself, and when no split fits (naming the stage, the bytes
// the least memory-hungry split needs and the bytes available).
std::vector<int> partition(const std::vector<UnitCost>& units, int stages,
                           const MemoryModel& memory);

// One stage of a partition and what it costs.
struct StagePlan {
  size_t first = 0, end = 0;  // units [first, end)
  double time_ms = 0;
  int64_t memory_bytes = 0;
};
// Costs of every stage of `balance` (validated against the unit count).
std::vector<StagePlan> evaluate_partition(const std::vector<UnitCost>& units,
                                          const std::vector<int>& balance,
                                          const MemoryModel& memory);
// Throws naming the first stage over memory.device_bytes (for explicit partitions).
void require_fits(const std::vector<UnitCost>& units, const std::vector<int>& balance,
                  const MemoryModel& memory);

// [first, end) unit ranges of a balance.
std::vector<std::pair<size_t, size_t>> stage_ranges(const std::vector<int>& balance);
// "3,4,4,2".
std::string balance_str(const std::vector<int>& balance);

// The nominal throughput analytic times assume: 50 TFLOP/s, a round figure for the f32
// convolutions (TF32 tensor cores) an H100 sustains on ResNet layers. Only the ratios between
// units matter to the partitioner; the constant only sets the scale of the printed times.
constexpr double kNominalFlops = 50e12;

// Costs from the model table: forward = 2 * multiply-adds * micro_batch / flops (two
// floating-point operations per multiply-add), backward = 2 x forward (input and weight
// gradients each cost about one forward); norms, activations and pooling are not timed.
// Saved bytes: each conv output and the norm output after it (f32), the stem's max-pool
// output and its indices, the head's pooled features and logits.
std::vector<UnitCost> analytic_unit_costs(const ModelSpec& spec, int64_t micro_batch,
                                          double flops = kNominalFlops);

}  // namespace augur
