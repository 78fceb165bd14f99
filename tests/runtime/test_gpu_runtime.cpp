// [gpu] runtime tests: they skip here without a device and run on the GPU machines.
#include <catch2/catch.hpp>

#include <numeric>
#include <vector>

#include "runtime/context.h"
#include "runtime/cuda_check.h"
#include "runtime/stream.h"
#include "runtime/tensor.h"
#include "tests/support/gpu.h"

using namespace augur;

TEST_CASE("gpu: device buffers come from the caching allocator and are reused", "[gpu][runtime]") {
  AUGUR_REQUIRE_GPU();
  auto& alloc = CachingAllocator::for_device(Device::cuda(0));
  Stream s = Stream::create(Device::cuda(0));
  void* p = nullptr;
  {
    Buffer b(Device::cuda(0), 1 << 20, &s);
    p = b.data();
    b.zero(s);
  }
  s.synchronize();
  const size_t hits = alloc.stats().cache_hits;
  Buffer again(Device::cuda(0), 1 << 20, &s);
  CHECK(again.data() == p);
  CHECK(alloc.stats().cache_hits == hits + 1);
}

TEST_CASE("gpu: host-device-host copies round-trip on a stream", "[gpu][runtime]") {
  AUGUR_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  Stream s = Stream::create(gpu);
  const int64_t n = 1 << 16;
  PinnedBuffer host_in(n * sizeof(float)), host_out(n * sizeof(float));
  CHECK(host_in.pinned());
  std::iota(host_in.as<float>(), host_in.as<float>() + n, 0.f);
  Tensor dev = Tensor::empty(Shape{n}, DType::F32, gpu, &s);
  const TensorView in(host_in.data(), DType::F32, Device::cpu(), Shape{n});
  const TensorView out(host_out.data(), DType::F32, Device::cpu(), Shape{n});
  copy(dev, in, s);
  copy(out, dev, s);
  s.synchronize();
  for (int64_t i = 0; i < n; i += 997) REQUIRE(host_out.as<float>()[i] == static_cast<float>(i));
}

TEST_CASE("gpu: events order streams and time work", "[gpu][runtime]") {
  AUGUR_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  Stream a = Stream::create(gpu), b = Stream::create(gpu);
  Event start(gpu, true), stop(gpu, true), handoff(gpu);
  Buffer x(gpu, 64 << 20, &a);
  std::vector<unsigned char> host(64 << 20, 1);
  start.record(a);
  CUDA_CHECK(cudaMemcpyAsync(x.data(), host.data(), host.size(), cudaMemcpyDefault, a.handle()));
  handoff.record(a);
  handoff.wait(b);  // b sees a's copy
  Buffer y(gpu, 64 << 20, &b);
  CUDA_CHECK(cudaMemcpyAsync(y.data(), x.data(), host.size(), cudaMemcpyDefault, b.handle()));
  stop.record(b);
  stop.synchronize();
  CHECK(stop.query());
  CHECK(start.elapsed_ms(stop) > 0.f);
  std::vector<unsigned char> back(host.size(), 0);
  CUDA_CHECK(cudaMemcpy(back.data(), y.data(), back.size(), cudaMemcpyDefault));
  CHECK(back[0] == 1);
  CHECK(back.back() == 1);
}

TEST_CASE("gpu: each stream gets its own cuBLAS and cuDNN handles and workspace",
          "[gpu][runtime]") {
  AUGUR_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  Stream a = Stream::create(gpu), b = Stream::create(gpu);
  auto& ctx = DeviceContext::get(gpu);
  CHECK_THAT(ctx.description(), Catch::Contains("sm_"));
  StreamResources& ra = ctx.resources(a);
  StreamResources& rb = ctx.resources(b);
  CHECK(&ra != &rb);
  CHECK(&ra == &ctx.resources(a));
  CHECK(ra.cublas() != nullptr);
  CHECK(ra.cudnn() != nullptr);
  CHECK(ra.cublas() != rb.cublas());
  cudaStream_t bound = nullptr;
  CUBLAS_CHECK(cublasGetStream(ra.cublas(), &bound));
  CHECK(bound == a.handle());
  void* w1 = ra.workspace(1 << 20);
  CHECK(w1 != nullptr);
  CHECK(ra.workspace(1 << 10) == w1);  // smaller requests reuse it
  CHECK(ra.workspace_bytes() >= (1u << 20));
}

TEST_CASE("gpu: an invalid copy is reported as an error, not a crash", "[gpu][runtime]") {
  AUGUR_REQUIRE_GPU();
  // An invalid pointer is rejected by the runtime without corrupting the context.
  auto bad_copy = [] {
    CUDA_CHECK(cudaMemcpy(reinterpret_cast<void*>(0x10), reinterpret_cast<void*>(0x20), 16,
                          cudaMemcpyDeviceToDevice));
  };
  CHECK_THROWS_WITH(bad_copy(), Catch::Contains("CUDA error"));
}
