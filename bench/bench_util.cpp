#include "bench/bench_util.h"

#include <cblas.h>
#include <cublas_v2.h>
#include <filesystem>
#include <stdexcept>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "runtime/context.h"
#include "runtime/cuda_check.h"
#include "runtime/tensor.h"

namespace augur::bench {

Timing time_on_stream(const std::function<void()>& fn, const Stream& stream, int warmup,
                      int iterations) {
  for (int i = 0; i < warmup; ++i) fn();
  stream.synchronize();
  std::vector<double> ms;
  for (int i = 0; i < iterations; ++i) {
    if (stream.device().is_cuda()) {
      Event a(stream.device(), true), b(stream.device(), true);
      a.record(stream);
      fn();
      b.record(stream);
      b.synchronize();
      ms.push_back(a.elapsed_ms(b));
    } else {
      const auto t0 = std::chrono::steady_clock::now();
      fn();
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front(), iterations};
}

double measured_copy_gbps(const Device& device, size_t bytes) {
  Stream s = Stream::create(device);
  Buffer a(device, bytes, &s), b(device, bytes, &s);
  a.zero(s);
  b.zero(s);
  const Timing t =
      time_on_stream([&] { copy_bytes(b.data(), device, a.data(), device, bytes, s); }, s, 2, 10);
  return 2.0 * static_cast<double>(bytes) / (t.min_ms * 1e-3) / 1e9;
}

double measured_sgemm_tflops(const Device& device, int n) {
  const size_t count = size_t(n) * n;
  Stream s = Stream::create(device);
  Buffer a(device, count * 4, &s), b(device, count * 4, &s), c(device, count * 4, &s);
  a.zero(s);
  b.zero(s);
  std::function<void()> gemm;
  if (device.is_cpu()) {
    gemm = [&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a.as<float>(), n,
                  b.as<float>(), n, 0.f, c.as<float>(), n);
    };
  } else {
    cublasHandle_t h = DeviceContext::get(device).resources(s).cublas();
    gemm = [&, h] {
      const float one = 1.f, zero = 0.f;
      CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a.as<float>(), n,
                               b.as<float>(), n, &zero, c.as<float>(), n));
    };
  }
  const Timing t = time_on_stream(gemm, s, 1, 5);
  return 2.0 * n * double(n) * n / (t.min_ms * 1e-3) / 1e12;
}

void report(const std::string& name, const Timing& t, double bytes, double flops, double peer_gbps,
            double peer_tflops) {
  const double sec = t.median_ms * 1e-3;
  std::printf("%-44s %10.3f ms", name.c_str(), t.median_ms);
  if (bytes > 0) {
    const double gbps = bytes / sec / 1e9;
    std::printf("  %8.1f GB/s (%5.1f%% of copy)", gbps, 100.0 * gbps / peer_gbps);
  }
  if (flops > 0) {
    const double tflops = flops / sec / 1e12;
    std::printf("  %8.3f TFLOP/s (%5.1f%% of sgemm)", tflops, 100.0 * tflops / peer_tflops);
  }
  std::printf("\n");
}

bool parse_device(int argc, char** argv, Device* device) {
  *device = Device::cpu();
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--device") == 0) *device = Device::parse(argv[i + 1]);
  if (device->is_cuda() && cuda_device_count() <= device->index) {
    std::printf("no CUDA device %s: %s\n", device->str().c_str(),
                cuda_unavailable_reason().c_str());
    return false;
  }
  return true;
}

int guarded_main(int argc, char** argv, const std::function<int(int, char**)>& body) {
  const std::string name = argc > 0 ? std::filesystem::path(argv[0]).filename().string() : "bench";
  try {
    return body(argc, argv);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "%s: error: an argument is not a number (%s)\n", name.c_str(), e.what());
  } catch (const std::out_of_range& e) {
    std::fprintf(stderr, "%s: error: an argument is out of range (%s)\n", name.c_str(), e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", name.c_str(), e.what());
  }
  return 1;
}

void check_arguments(int argc, char** argv, const std::vector<std::string>& known) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    bool ok = false;
    for (const std::string& k : known) ok = ok || a == k;
    if (!ok) {
      std::string list;
      for (const std::string& k : known) list += " " + k;
      throw std::runtime_error("unknown argument '" + a + "'; this benchmark takes:" +
                               (list.empty() ? std::string(" nothing") : list));
    }
    ++i;  // every known flag takes a value
  }
}

}  // namespace augur::bench
