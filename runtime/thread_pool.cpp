#include "runtime/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <exception>
#include <string>

#include "runtime/error.h"
#include "runtime/spin_wait.h"

namespace augur {

namespace {

thread_local bool t_inside_pool_task = false;

}  // namespace

ThreadPool::ThreadPool(int threads) : threads_(std::max(1, threads)) {
  for (int i = 1; i < threads_; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::worker_loop() {
  t_inside_pool_task = true;
  for (;;) {
    spin_until([this] { return queued_.load(std::memory_order_relaxed) > 0; }, kSpin);
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return stop_ || !tasks_.empty(); });
      if (stop_ && tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
      queued_.store(tasks_.size(), std::memory_order_relaxed);
    }
    task();
  }
}

void ThreadPool::parallel_for(int64_t begin, int64_t end, int64_t grain,
                              const std::function<void(int64_t, int64_t)>& fn) {
  if (end <= begin) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t n = end - begin;
  const int64_t chunks = std::min<int64_t>(threads_, (n + grain - 1) / grain);
  if (chunks <= 1 || t_inside_pool_task) {
    fn(begin, end);
    return;
  }
  struct Shared {
    std::mutex m;
    std::condition_variable done_cv;
    std::atomic<int64_t> remaining;  // written under m, polled without it
    std::exception_ptr error;
  } shared;
  shared.remaining.store(chunks, std::memory_order_relaxed);
  auto run_chunk = [&](int64_t c) {
    const int64_t lo = begin + n * c / chunks;
    const int64_t hi = begin + n * (c + 1) / chunks;
    try {
      fn(lo, hi);
    } catch (...) {
      std::lock_guard<std::mutex> lock(shared.m);
      if (!shared.error) shared.error = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(shared.m);
    if (shared.remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) shared.done_cv.notify_all();
  };
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int64_t c = 1; c < chunks; ++c) tasks_.emplace_back([&run_chunk, c] { run_chunk(c); });
    queued_.store(tasks_.size(), std::memory_order_relaxed);
  }
  cv_.notify_all();
  // The caller takes chunk 0 and then helps drain the queue rather than idling.
  const bool was_inside = t_inside_pool_task;
  t_inside_pool_task = true;
  run_chunk(0);
  for (;;) {
    std::function<void()> task;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (tasks_.empty()) break;
      task = std::move(tasks_.front());
      tasks_.pop_front();
      queued_.store(tasks_.size(), std::memory_order_relaxed);
    }
    task();
  }
  t_inside_pool_task = was_inside;
  spin_until([&] { return shared.remaining.load(std::memory_order_acquire) == 0; }, kSpin);
  // Taken even when polling saw zero: the last chunk decrements under the mutex, so once we
  // hold it that chunk has let go of `shared`, which dies with this frame.
  std::unique_lock<std::mutex> lock(shared.m);
  shared.done_cv.wait(lock, [&] { return shared.remaining.load(std::memory_order_relaxed) == 0; });
  if (shared.error) std::rethrow_exception(shared.error);
}

int ThreadPool::default_threads() {
  if (const char* env = std::getenv("AUGUR_NUM_THREADS")) {
    char* endp = nullptr;
    const long v = std::strtol(env, &endp, 10);
    if (endp && *endp == '\0' && v >= 1 && v <= 1024) return static_cast<int>(v);
    throw Error(std::string("AUGUR_NUM_THREADS='") + env + "' is not a thread count in 1..1024");
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

ThreadPool& ThreadPool::global() {
  static ThreadPool pool(default_threads());
  return pool;
}

}  // namespace augur
