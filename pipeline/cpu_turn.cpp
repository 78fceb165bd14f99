#include "pipeline/cpu_turn.h"

#include <thread>

namespace augur {

void CpuTurn::acquire() {
  using Clock = std::chrono::steady_clock;
  if (last_hold_ns_.load(std::memory_order_relaxed) <
      std::chrono::duration_cast<std::chrono::nanoseconds>(kSpin).count()) {
    const auto until = Clock::now() + kSpin;
    do {
      if (mutex_.try_lock()) {
        taken_ = Clock::now();
        return;
      }
      std::this_thread::yield();
    } while (Clock::now() < until);
  }
  mutex_.lock();
  taken_ = Clock::now();
}

void CpuTurn::release() {
  const auto held = std::chrono::steady_clock::now() - taken_;
  last_hold_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(held).count(),
                      std::memory_order_relaxed);
  mutex_.unlock();
}

}  // namespace augur
