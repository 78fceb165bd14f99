// Direct copies between CUDA devices. A pipeline with stages on several GPUs moves boundary
// activations and gradients between them: where the hardware allows it (NVLink or a shared
// PCIe root), peer access is enabled and cudaMemcpyPeerAsync goes device to device; where it
// does not, the transport stages the copy through pinned host memory.
#pragma once

#include <vector>

#include "runtime/device.h"

namespace augur {

// Whether `from` can read and write `to`'s memory directly (false for CPU devices and for
// a device with itself).
bool can_access_peer(const Device& from, const Device& to);

// Enables peer access from `from` to `to` once per process where the hardware allows it and
// returns whether direct copies are on. Idempotent and thread-safe.
bool enable_peer_access(const Device& from, const Device& to);

// [i][j]: cuda:i can access cuda:j directly (the diagonal is true); empty without devices.
std::vector<std::vector<bool>> peer_access_matrix();

}  // namespace augur
