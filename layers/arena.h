// A stage's parameters live in one flat arena (and its gradients and optimizer state in
// arenas with identical offsets), so one optimizer launch covers the stage. ArenaLayout
// assigns the offsets; layers keep the entry of each parameter and slice views out of
// whichever arena version (current, stashed, predicted) a pass hands them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/decay_range.h"
#include "runtime/tensor.h"

namespace augur {

struct ArenaEntry {
  std::string name;    // torchvision name ("layer1.0.conv1.weight")
  Shape shape;         // Augur's layout (conv weights KRSC: out, kh, kw, in)
  int64_t offset = 0;  // in elements
  bool norm_or_bias = false;
  bool exported = true;  // false for internal state (e.g. deferred BN accumulators)
  int64_t numel() const { return shape.numel(); }
};

class ArenaLayout {
 public:
  // Offsets are aligned to 16 elements (64 bytes for f32) so vectorised kernels can load
  // whole 16-byte words at the start of every parameter.
  static constexpr int64_t kAlignment = 16;

  // Returns the index of the new entry.
  size_t add(std::string name, Shape shape, bool norm_or_bias = false, bool exported = true);
  const std::vector<ArenaEntry>& entries() const { return entries_; }
  const ArenaEntry& operator[](size_t i) const { return entries_.at(i); }
  // Total elements including alignment padding.
  int64_t size() const { return size_; }
  // Elements that belong to parameters (no padding).
  int64_t parameter_count() const;
  // Throws naming the entry when absent.
  const ArenaEntry& find(const std::string& name) const;
  // Per-range decay flags for the optimizer; `decay_norm_and_bias` false excludes BN
  // weights/biases and linear biases. Padding is covered with decay = false.
  std::vector<DecayRange> decay_ranges(bool decay_norm_and_bias) const;

 private:
  std::vector<ArenaEntry> entries_;
  int64_t size_ = 0;
};

// A view of one entry inside an arena of the layout's size.
TensorView entry_view(const TensorView& arena, const ArenaEntry& entry);

}  // namespace augur
