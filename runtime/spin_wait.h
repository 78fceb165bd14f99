// Waiting for something that usually happens within microseconds: poll it for a short
// budget, yielding the core between rounds, before the caller falls back to sleeping. A
// sleep and wake-up through the kernel costs more than such a wait; yielding, not busy
// spinning, lets a thread that is runnable (perhaps the one being waited for, on an
// oversubscribed machine) have the core.
#pragma once

#include <chrono>
#include <thread>

namespace augur {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Polls `ready` for up to `budget`; returns whether it became true (its last call's result).
template <class Ready>
bool spin_until(const Ready& ready, std::chrono::microseconds budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  do {
    for (int i = 0; i < 16; ++i) {
      if (ready()) return true;
      cpu_relax();
    }
    std::this_thread::yield();
  } while (std::chrono::steady_clock::now() < deadline);
  return ready();
}

// Polls `ready` until it is true or `deadline` passes (then returns false): yielding the
// core for the first `yielding` (an answer within microseconds is not delayed by a sleep's
// timer slack), then sleeping `sleep` between polls (a long wait does not spin, which on an
// oversubscribed machine would take the core from the process being waited for).
template <class Ready>
bool poll_until(const Ready& ready, std::chrono::steady_clock::time_point deadline,
                std::chrono::microseconds yielding = std::chrono::microseconds(1000),
                std::chrono::microseconds sleep = std::chrono::microseconds(50)) {
  const auto started = std::chrono::steady_clock::now();
  for (;;) {
    if (ready()) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    if (now - started < yielding)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(sleep);
  }
}

}  // namespace augur
