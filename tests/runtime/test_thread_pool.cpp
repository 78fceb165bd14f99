#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "runtime/thread_pool.h"

using augur::ThreadPool;

TEST_CASE("parallel_for visits every index exactly once", "[runtime]") {
  ThreadPool pool(4);
  for (int64_t n : {0, 1, 3, 4, 5, 1000, 12345}) {
    std::vector<std::atomic<int>> hits(n);
    pool.parallel_for(0, n, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) ++hits[i];
    });
    for (int64_t i = 0; i < n; ++i) REQUIRE(hits[i] == 1);
  }
}

TEST_CASE("parallel_for respects the grain and uses several threads", "[runtime]") {
  ThreadPool pool(3);
  std::atomic<int> calls{0};
  pool.parallel_for(0, 10, 100, [&](int64_t lo, int64_t hi) {
    CHECK(lo == 0);
    CHECK(hi == 10);
    ++calls;
  });
  CHECK(calls == 1);
  std::atomic<int> chunks{0};
  pool.parallel_for(0, 300, 1, [&](int64_t, int64_t) { ++chunks; });
  CHECK(chunks == 3);
}

TEST_CASE("exceptions in a chunk reach the caller", "[runtime]") {
  ThreadPool pool(4);
  CHECK_THROWS_WITH(pool.parallel_for(0, 100, 1,
                                      [](int64_t lo, int64_t) {
                                        if (lo > 0) throw std::runtime_error("chunk failed");
                                      }),
                    "chunk failed");
  // The pool still works afterwards.
  std::atomic<int64_t> sum{0};
  pool.parallel_for(0, 100, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) sum += i;
  });
  CHECK(sum == 4950);
}

TEST_CASE("nested and concurrent parallel_for calls complete", "[runtime]") {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  auto work = [&] {
    pool.parallel_for(0, 8, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i)
        pool.parallel_for(0, 10, 1, [&](int64_t a, int64_t b) { total += b - a; });
    });
  };
  std::thread t1(work), t2(work);
  t1.join();
  t2.join();
  CHECK(total == 2 * 8 * 10);
}

TEST_CASE("workers that went to sleep wake up for the next call", "[runtime]") {
  ThreadPool pool(3);
  for (int round = 0; round < 3; ++round) {
    // Longer than the polling window, so the workers sleep on the condition variable.
    std::this_thread::sleep_for(ThreadPool::kSpin * 20);
    std::vector<std::atomic<int>> hits(300);
    pool.parallel_for(0, 300, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) ++hits[i];
    });
    for (auto& h : hits) REQUIRE(h == 1);
  }
}

TEST_CASE("many short calls in a row all complete", "[runtime]") {
  ThreadPool pool(2);
  int64_t total = 0;
  for (int call = 0; call < 20000; ++call) {
    std::atomic<int64_t> sum{0};
    pool.parallel_for(0, 4, 1, [&](int64_t lo, int64_t hi) { sum += hi - lo; });
    total += sum;
  }
  CHECK(total == 4 * 20000);
}
