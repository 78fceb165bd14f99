#pragma once
// The CPU stages' turn to compute (EngineOptions::cpu_stages_take_turns): one F, B or Step at
// a time, since every CPU kernel already spreads over the whole thread pool.
#include <atomic>
#include <chrono>
#include <mutex>

namespace augur {

class CpuTurn {
 public:
  // A waiter tries for this long, yielding, before it sleeps, but only while turns are being
  // held briefly: on tiny tensors the turn changes hands every few microseconds and a futex
  // sleep and wake-up costs more than the wait, while on real layers (turns of milliseconds)
  // a spinning waiter would only take the cores from the thread pool computing the turn.
  static constexpr std::chrono::microseconds kSpin{50};

  // Holds the turn for its lifetime when `needed`; otherwise does nothing.
  class Scope {
   public:
    Scope(CpuTurn* turn, bool needed) : turn_(needed ? turn : nullptr) {
      if (turn_) turn_->acquire();
    }
    ~Scope() {
      if (turn_) turn_->release();
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    CpuTurn* turn_;
  };

 private:
  void acquire();
  void release();

  std::mutex mutex_;
  std::atomic<int64_t> last_hold_ns_{0};
  std::chrono::steady_clock::time_point taken_;  // written and read by the holder only
};

}  // namespace augur
