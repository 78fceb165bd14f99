#include "pipeline/cpu_turn.h"

#include "runtime/spin_wait.h"

namespace augur {

void CpuTurn::acquire() {
  const bool short_turns = last_hold_ns_.load(std::memory_order_relaxed) <
                           std::chrono::duration_cast<std::chrono::nanoseconds>(kSpin).count();
  if (!short_turns || !spin_until([this] { return mutex_.try_lock(); }, kSpin)) mutex_.lock();
  taken_ = std::chrono::steady_clock::now();
}

void CpuTurn::release() {
  const auto held = std::chrono::steady_clock::now() - taken_;
  last_hold_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(held).count(),
                      std::memory_order_relaxed);
  mutex_.unlock();
}

}  // namespace augur
