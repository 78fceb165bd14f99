// Opt-in wall-clock totals per kind of CPU kernel, for benchmarks that want to say where a
// training step's time goes. Off by default: a disabled Scope costs one relaxed atomic load,
// so the kernels keep their scopes in the normal build. Totals are process-wide and safe to
// add from several threads; a kernel that calls another kernel's public entry point would
// count twice, which no CPU kernel does.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace augur::kernels::profile {

enum class Op {
  ConvForward,
  ConvBackwardData,
  ConvBackwardFilter,
  BnStats,
  BnForward,
  BnBackward,
  Pool,
  Linear,
  Loss,
  Optimizer,
  kCount
};

const char* op_name(Op op);

struct Totals {
  std::array<double, size_t(Op::kCount)> seconds{};
  std::array<int64_t, size_t(Op::kCount)> calls{};
};

void set_enabled(bool on);
bool enabled();
void add(Op op, int64_t nanoseconds);
Totals totals();
void reset();

// Adds the time from construction to destruction to `op` when profiling is on.
class Scope {
 public:
  explicit Scope(Op op) : op_(op), on_(enabled()) {
    if (on_) start_ = std::chrono::steady_clock::now();
  }
  ~Scope() {
    if (on_)
      add(op_, std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now() - start_)
                   .count());
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  Op op_;
  bool on_;
  std::chrono::steady_clock::time_point start_{};
};

}  // namespace augur::kernels::profile
