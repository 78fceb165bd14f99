// Shared pieces of the microbenchmarks: timing on a stream, and the peer figures every
// result is divided by (the device's measured copy bandwidth and GEMM throughput, measured
// in the same run so the ratio means something on whatever machine runs it).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "runtime/device.h"
#include "runtime/stream.h"

namespace augur::bench {

struct Timing {
  double median_ms = 0;
  double min_ms = 0;
  int iterations = 0;
};

// Runs `fn` `warmup` times, then `iterations` times, timing each run with events on
// `stream` (wall clock on CPU). Returns the median and minimum.
Timing time_on_stream(const std::function<void()>& fn, const Stream& stream, int warmup = 2,
                      int iterations = 10);

// Device-to-device copy bandwidth in GB/s (bytes read + bytes written, per second),
// measured with a buffer of `bytes`.
double measured_copy_gbps(const Device& device, size_t bytes = size_t(256) << 20);

// f32 GEMM throughput in TFLOP/s (2*M*N*K per second) for square matrices of side n:
// OpenBLAS sgemm on CPU, cuBLAS sgemm on CUDA.
double measured_sgemm_tflops(const Device& device, int n = 2048);

// "name  time  GB/s  (x% of copy bandwidth)" style line, printed to stdout.
void report(const std::string& name, const Timing& t, double bytes, double flops, double peer_gbps,
            double peer_tflops);

// What every benchmark's main() returns: `body`'s status, or 1 with "NAME: error: ..." on
// stderr when it throws (a bad argument, a failed allocation, a CUDA error), instead of
// "terminate called ...". Arguments a benchmark does not know are refused the same way.
int guarded_main(int argc, char** argv, const std::function<int(int, char**)>& body);
// Throws naming the argument when argv holds one that is not in `known` (flags taking a value
// are followed by it).
void check_arguments(int argc, char** argv, const std::vector<std::string>& known);

// `--device cpu|cuda:N` from argv (default cpu); prints a note and returns false when a
// CUDA device was asked for and none exists.
bool parse_device(int argc, char** argv, Device* device);

}  // namespace augur::bench
