// Import and export of a stage's parameters and buffers as a PyTorch state_dict in
// safetensors: torchvision's names and layouts (conv weights OIHW, F32 tensors,
// num_batches_tracked a 0-rank I64), so torchvision checkpoints load into Augur and Augur's
// exports load back into torchvision.
#pragma once

#include <string>
#include <vector>

#include "models/resnet.h"
#include "models/safetensors.h"

namespace augur {

// Adds the stage's exported parameters and buffers, converted to PyTorch's layouts.
// `prefix` is prepended to every name (e.g. "grad." for gradients: then only parameters).
void export_parameters(const StageNet& stage, const std::vector<float>& weights,
                       SafetensorsWriter* out, const std::string& prefix = "");
void export_buffers(const StageNet& stage, const std::vector<float>& state, SafetensorsWriter* out);

// Loads every exported entry of the stage from `file` into host arenas (converting layouts).
// A leading "module." on the file's names is accepted. Problems are collected and reported
// together, each naming its key: missing tensors, tensors of the wrong shape or dtype, and,
// when `allow_unexpected` is false, tensors the stage does not have.
void import_state_dict(const StageNet& stage, const SafetensorsFile& file,
                       std::vector<float>* weights, std::vector<float>* state,
                       bool allow_unexpected = false);

}  // namespace augur
