// The CPU backend's worker threads. parallel_for splits a range into contiguous chunks, runs
// them on the pool and the calling thread, and returns when all are done. Several threads
// (one per pipeline stage) may call it at once; a call made from inside a pool task runs
// inline, so nested parallelism cannot deadlock.
#pragma once

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

 private:
  void worker_loop();
  int threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stop_ = false;
};

}  // namespace augur
