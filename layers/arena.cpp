#include "layers/arena.h"

#include "runtime/error.h"

namespace augur {

size_t ArenaLayout::add(std::string name, Shape shape, bool norm_or_bias, bool exported) {
  for (const auto& e : entries_)
    AUGUR_ARG_CHECK(e.name != name, "arena entry '", name, "' added twice");
  ArenaEntry e;
  e.name = std::move(name);
  e.shape = shape;
  e.offset = (size_ + kAlignment - 1) / kAlignment * kAlignment;
  e.norm_or_bias = norm_or_bias;
  e.exported = exported;
  size_ = e.offset + e.numel();
  entries_.push_back(std::move(e));
  return entries_.size() - 1;
}

int64_t ArenaLayout::parameter_count() const {
  int64_t n = 0;
  for (const auto& e : entries_) n += e.numel();
  return n;
}

const ArenaEntry& ArenaLayout::find(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name == name) return e;
  throw Error("no parameter or buffer named '" + name + "' in this arena");
}

std::vector<DecayRange> ArenaLayout::decay_ranges(bool decay_norm_and_bias) const {
  std::vector<DecayRange> out;
  int64_t cursor = 0;
  auto push = [&out](int64_t offset, int64_t count, bool decay) {
    if (count <= 0) return;
    if (!out.empty() && out.back().decay == decay && out.back().offset + out.back().count == offset)
      out.back().count += count;
    else
      out.push_back({offset, count, decay});
  };
  for (const auto& e : entries_) {
    push(cursor, e.offset - cursor, false);
    push(e.offset, e.numel(), decay_norm_and_bias || !e.norm_or_bias);
    cursor = e.offset + e.numel();
  }
  push(cursor, size_ - cursor, false);
  return out;
}

TensorView entry_view(const TensorView& arena, const ArenaEntry& entry) {
  AUGUR_ARG_CHECK(arena.rank() == 1 && entry.offset + entry.numel() <= arena.numel(), "arena ",
                  arena.str(), " too small for '", entry.name, "' at offset ", entry.offset);
  auto* base = static_cast<char*>(arena.raw()) + entry.offset * dtype_size(arena.dtype());
  return TensorView(base, arena.dtype(), arena.device(), entry.shape);
}

}  // namespace augur
