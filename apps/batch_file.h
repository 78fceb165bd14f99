// The batch `augur step` computes on: a safetensors file holding images F32 [N, C, H, W] and
// labels I64 [N] (what tests/torch/compare_step.py writes from PyTorch).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace augur {

struct HostBatch {
  std::vector<float> images_nhwc;
  std::vector<int64_t> labels;
  int64_t n = 0, c = 0, h = 0, w = 0;
};

// Reads and checks a batch file; throws naming the file for anything but the layout above
// with at least one sample and no empty dimension.
HostBatch read_batch(const std::string& path);

}  // namespace augur
