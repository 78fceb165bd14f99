#include "kernels/profile.h"

namespace augur::kernels::profile {

namespace {
constexpr size_t kOps = size_t(Op::kCount);
std::atomic<bool> g_enabled{false};
std::array<std::atomic<int64_t>, kOps> g_nanoseconds{};
std::array<std::atomic<int64_t>, kOps> g_calls{};
}  // namespace

const char* op_name(Op op) {
  switch (op) {
    case Op::ConvForward: return "conv fwd";
    case Op::ConvBackwardData: return "conv bwd-data";
    case Op::ConvBackwardFilter: return "conv bwd-filter";
    case Op::BnStats: return "bn stats";
    case Op::BnForward: return "bn fwd";
    case Op::BnBackward: return "bn bwd";
    case Op::Pool: return "pool";
    case Op::Linear: return "linear";
    case Op::Loss: return "loss";
    case Op::Optimizer: return "optimizer";
    case Op::kCount: break;
  }
  return "?";
}

void set_enabled(bool on) {
  g_enabled.store(on, std::memory_order_relaxed);
}

bool enabled() {
  return g_enabled.load(std::memory_order_relaxed);
}

void add(Op op, int64_t nanoseconds) {
  g_nanoseconds[size_t(op)].fetch_add(nanoseconds, std::memory_order_relaxed);
  g_calls[size_t(op)].fetch_add(1, std::memory_order_relaxed);
}

Totals totals() {
  Totals t;
  for (size_t i = 0; i < kOps; ++i) {
    t.seconds[i] = double(g_nanoseconds[i].load(std::memory_order_relaxed)) * 1e-9;
    t.calls[i] = g_calls[i].load(std::memory_order_relaxed);
  }
  return t;
}

void reset() {
  for (size_t i = 0; i < kOps; ++i) {
    g_nanoseconds[i].store(0, std::memory_order_relaxed);
    g_calls[i].store(0, std::memory_order_relaxed);
  }
}

}  // namespace augur::kernels::profile
