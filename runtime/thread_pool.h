// The CPU backend's worker threads. parallel_for splits a range into contiguous chunks, runs
// them on the pool and the calling thread, and returns when all are done. Several threads
// (one per pipeline stage) may call it at once; a call made from inside a pool task runs
// inline, so nested parallelism cannot deadlock.
//
// A training step is a long run of short parallel_for calls (a few tens of microseconds
// each) with little serial work between them. Waking a sleeping thread takes about as long
// as such a call, so an idle worker, and a caller waiting for the last chunk, first poll for
// a short while (kSpin) before they sleep on a condition variable. Polling yields the core
// between checks, so on a machine shared with other processes it does not take the core
// from the thread it waits for.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace augur {

class ThreadPool {
 public:
  // `threads`: total parallelism including the caller (so n-1 workers are started).
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return threads_; }

  // fn(begin, end) over [begin, end) in chunks of at least `grain` items. Exceptions thrown
  // by fn are rethrown here (the first one).
  void parallel_for(int64_t begin, int64_t end, int64_t grain,
                    const std::function<void(int64_t, int64_t)>& fn);

  // The process-wide pool: AUGUR_NUM_THREADS threads, else one per hardware thread.
  static ThreadPool& global();
  // Threads the global pool uses (reads the environment; does not start the pool).
  static int default_threads();

  // How long an idle thread polls before it sleeps: enough to bridge the gaps between the
  // calls of a training step, short enough that an idle pool gives its cores back at once.
  static constexpr std::chrono::microseconds kSpin{50};

 private:
  void worker_loop();
  int threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  std::atomic<size_t> queued_{0};  // tasks_.size(), for polling without the mutex
  bool stop_ = false;
};

}  // namespace augur
