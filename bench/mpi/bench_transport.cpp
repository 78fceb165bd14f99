// The MPI transport between two processes (run it as `mpirun -np 2 bench_transport`):
//
// 1. Latency and bandwidth of one message, 1 KiB to 64 MiB, one way (half a ping-pong
//    between rank 0 and rank 1, the median of several). Peers in the same run: a plain
//    MPI_Send/MPI_Recv ping-pong of the same bytes (what the transport adds to MPI: its
//    header, the probe, the polling) and, for bandwidth, a memcpy of the same bytes on this
//    machine (a loopback transfer is at best a copy).
// 2. The engine's host overhead per action with the MPI transport (two processes, a stage
//    each) against the in-process transport (one process, two stage threads), on stages that
//    do next to nothing (bench/pass_through.h), in the same run.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "bench/bench_util.h"
#include "bench/pass_through.h"
#include "pipeline/engine.h"
#include "pipeline/lowering.h"
#include "pipeline/mpi/mpi_transport.h"
#include "pipeline/mpi/mpi_world.h"
#include "pipeline/schedule_generators.h"

using namespace augur;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

int repeats_for(size_t bytes) {
  return bytes <= (1u << 16) ? 200 : bytes <= (1u << 22) ? 30 : 6;
}

// One way, through the transport: rank 0 sends an activation, rank 1 sends it back as a
// gradient.
double transport_one_way(MpiTransport& t, size_t bytes, int rank) {
  std::vector<float> data(bytes / sizeof(float), 1.0f);
  const TensorView v(data.data(), DType::F32, Device::cpu(), Shape{int64_t(data.size())});
  const Stream cpu = Stream::cpu();
  const auto never = Clock::time_point::max();
  std::vector<double> times;
  const int n = repeats_for(bytes);
  for (int i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    if (rank == 0) {
      t.send(0, 1, MessageKind::Activation, i, v, Tensor(), cpu);
      (void)t.receive(0, MessageKind::Gradient, i, cpu, never);
    } else {
      const Message m = t.receive(1, MessageKind::Activation, i, cpu, never);
      t.send(1, 0, MessageKind::Gradient, i, m.view, Tensor(), cpu);
    }
    times.push_back(seconds_since(t0) / 2);
  }
  return median(times);
}

double mpi_one_way(size_t bytes, int rank) {
  std::vector<char> buf(bytes, 1);
  const int count = static_cast<int>(bytes);
  std::vector<double> times;
  const int n = repeats_for(bytes);
  for (int i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    if (rank == 0) {
      MPI_Send(buf.data(), count, MPI_BYTE, 1, 7, MPI_COMM_WORLD);
      MPI_Recv(buf.data(), count, MPI_BYTE, 1, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else {
      MPI_Recv(buf.data(), count, MPI_BYTE, 0, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      MPI_Send(buf.data(), count, MPI_BYTE, 0, 7, MPI_COMM_WORLD);
    }
    times.push_back(seconds_since(t0) / 2);
  }
  return median(times);
}

double memcpy_seconds(size_t bytes) {
  std::vector<char> a(bytes, 1), b(bytes, 0);
  std::vector<double> times;
  for (int i = 0; i < repeats_for(bytes); ++i) {
    const auto t0 = Clock::now();
    std::memcpy(b.data(), a.data(), bytes);
    times.push_back(seconds_since(t0));
    a[i % bytes] = b[(i + 1) % bytes];  // keep the copies from being elided
  }
  return median(times);
}

void latency_and_bandwidth(int rank) {
  auto t = std::make_shared<MpiTransport>(MPI_COMM_WORLD, std::vector<int>{0, 1});
  if (rank == 0) {
    std::printf("== one message, one way (median), rank 0 <-> rank 1 ==\n");
    std::printf("%10s %12s %12s %9s %12s %12s %9s\n", "bytes", "augur us", "MPI us", "augur/MPI",
                "augur GB/s", "memcpy GB/s", "of copy");
  }
  for (size_t bytes = 1024; bytes <= (64u << 20); bytes *= 4) {
    t->begin_run();
    MPI_Barrier(MPI_COMM_WORLD);
    const double ours = transport_one_way(*t, bytes, rank);
    MPI_Barrier(MPI_COMM_WORLD);
    const double raw = mpi_one_way(bytes, rank);
    if (rank != 0) continue;
    const double copy = memcpy_seconds(bytes);
    const double gbs = double(bytes) / ours / 1e9, copy_gbs = double(bytes) / copy / 1e9;
    std::printf("%10zu %12.1f %12.1f %8.2fx %12.2f %12.2f %8.0f%%\n", bytes, ours * 1e6, raw * 1e6,
                ours / raw, gbs, copy_gbs, 100.0 * gbs / copy_gbs);
  }
}

void engine_overhead(int rank) {
  if (rank == 0)
    std::printf(
        "\n== engine host overhead per action, 2 stages on [1,1] tensors ==\n"
        "%-10s %4s %8s %14s %14s %8s\n",
        "schedule", "M", "actions", "in-process us", "2 processes us", "ratio");
  const MicroBatchSource source = bench::pass_through_source();
  const optim::OptimizerConfig sgd;
  for (ScheduleKind kind : {ScheduleKind::PipeDream, ScheduleKind::GPipe, ScheduleKind::OneFOneB}) {
    const int M = 64;
    const Schedule s = lower(make_schedule(kind, 2, M));
    size_t actions = 0;
    for (const auto& l : s.actions) actions += l.size();
    auto time_runs = [&](Engine& e) {
      std::vector<double> walls;
      for (int i = 0; i < 15; ++i) walls.push_back(e.run(s, source).wall_ms);
      return median(walls) * 1e3 / double(actions);
    };
    double alone = 0;
    if (rank == 0) {
      Engine one(bench::pass_through_stages(2), sgd, optim::LrSchedule::constant(0.01), {});
      alone = time_runs(one);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    EngineOptions eo;
    eo.local_stages = {rank};
    eo.transport = std::make_shared<MpiTransport>(MPI_COMM_WORLD, std::vector<int>{0, 1});
    Engine split(bench::pass_through_stages(2), sgd, optim::LrSchedule::constant(0.01), eo);
    const double across = time_runs(split);
    if (rank == 0)
      std::printf("%-10s %4d %8zu %14.2f %14.2f %7.1fx\n", schedule_name(kind), M, actions, alone,
                  across, across / alone);
  }
}

}  // namespace

static int bench_main(int argc, char** argv) {
  bench::check_arguments(argc, argv, {});
  if (!MpiWorld::launched_by_mpi()) {
    std::fprintf(stderr, "usage: mpirun -np 2 bench_transport\n");
    return 2;
  }
  MpiWorld& world = MpiWorld::get();
  if (world.size() != 2) {
    if (world.rank() == 0) std::fprintf(stderr, "bench_transport runs as exactly 2 ranks\n");
    return 2;
  }
  latency_and_bandwidth(world.rank());
  engine_overhead(world.rank());
  return 0;
}

int main(int argc, char** argv) {
  return augur::bench::guarded_main(argc, argv, bench_main);
}
