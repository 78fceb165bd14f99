// Training checkpoints: one safetensors file holding the model under torchvision's names
// (so it loads into torchvision, and `augur eval` reads it), each stage's optimizer state
// arenas, and the training state in the metadata. Written atomically: a crash or a full
// disk leaves the previous checkpoint in place.
#pragma once

#include <cstdint>
#include <string>

#include "pipeline/engine.h"

namespace augur {

struct TrainingState {
  int64_t epoch = 0;       // epochs completed
  int64_t steps_done = 0;  // optimizer steps applied by every stage
  std::string balance;     // units per stage, e.g. "3,4,4,2"
  std::string model;
  std::string args_json;  // the options of the run that wrote it
};

void save_checkpoint(const std::string& path, const Engine& engine, const TrainingState& state);
// The size of the file save_checkpoint writes (the same for every step of a run).
uint64_t checkpoint_bytes(const Engine& engine, const TrainingState& state);
// Restores weights, buffers and optimizer state; throws naming the file when it does not
// belong to this model or partition, or is damaged.
TrainingState load_checkpoint(const std::string& path, Engine* engine);
// Only the model (weights and buffers), from a checkpoint or a torchvision state_dict.
void load_model_weights(const std::string& path, Engine* engine);

}  // namespace augur
