#include <catch2/catch.hpp>

#include <cstring>
#include <numeric>
#include <utility>
#include <vector>

#include "runtime/buffer.h"
#include "runtime/stream.h"
#include "runtime/tensor.h"

using namespace augur;

TEST_CASE("Buffer is RAII and move-only", "[runtime]") {
  static_assert(!std::is_copy_constructible_v<Buffer>);
  static_assert(std::is_nothrow_move_constructible_v<Buffer>);
  auto& alloc = CachingAllocator::for_device(Device::cpu());
  const size_t before = alloc.stats().allocated_bytes;
  {
    Buffer a(Device::cpu(), 1000);
    REQUIRE(a.data() != nullptr);
    CHECK(a.bytes() == 1000);
    CHECK(a.capacity() >= 1000);
    CHECK(reinterpret_cast<uintptr_t>(a.data()) % 256 == 0);
    void* p = a.data();
    Buffer b(std::move(a));
    CHECK(a.empty());  // NOLINT(bugprone-use-after-move): checking the moved-from state
    CHECK(b.data() == p);
    Buffer c;
    c = std::move(b);
    CHECK(c.data() == p);
    CHECK(alloc.stats().allocated_bytes == before + c.capacity());
    c.zero(Stream::cpu());
    const auto* bytes = c.as<unsigned char>();
    CHECK(std::all_of(bytes, bytes + 1000, [](unsigned char x) { return x == 0; }));
  }
  CHECK(alloc.stats().allocated_bytes == before);
}

TEST_CASE("PinnedBuffer owns host memory usable by plain code", "[runtime]") {
  PinnedBuffer p(4096);
  REQUIRE(p.data() != nullptr);
  std::memset(p.data(), 7, 4096);
  CHECK(p.as<unsigned char>()[4095] == 7);
  PinnedBuffer q(std::move(p));
  CHECK(q.bytes() == 4096);
  CHECK(p.data() == nullptr);  // NOLINT(bugprone-use-after-move)
}

TEST_CASE("Shape and TensorView describe NHWC data", "[runtime]") {
  const Shape s = Shape::nhwc(2, 3, 4, 5);
  CHECK(s.rank() == 4);
  CHECK(s.numel() == 120);
  CHECK(s.str() == "[2, 3, 4, 5]");
  CHECK(s.with_dim(0, 7) == Shape{7, 3, 4, 5});
  CHECK_THROWS_WITH(s[4], Catch::Contains("dimension 4 out of range"));
  CHECK_THROWS_WITH((Shape{2, -1}), Catch::Contains("negative dimension"));

  Tensor t = Tensor::zeros(s, DType::F32, Device::cpu(), Stream::cpu());
  const TensorView& v = t.view();
  CHECK(v.n() == 2);
  CHECK(v.h() == 3);
  CHECK(v.w() == 4);
  CHECK(v.c() == 5);
  CHECK(v.bytes() == 480);
  float* data = t.data<float>();
  std::iota(data, data + 120, 0.f);
  CHECK_THROWS_WITH(t.data<double>(), Catch::Contains("dtype f32 accessed as f64"));

  const TensorView second = v.slice_batch(1, 1);
  CHECK(second.shape() == Shape::nhwc(1, 3, 4, 5));
  CHECK(second.data<float>()[0] == 60.f);
  CHECK_THROWS_WITH(v.slice_batch(1, 2), Catch::Contains("out of range"));
  CHECK(v.reshaped(Shape{2, 60}).dim(1) == 60);
  CHECK_THROWS_WITH(v.reshaped(Shape{7, 60}), Catch::Contains("cannot reshape"));
  CHECK_THROWS_WITH(v.slice_batch(0, 1).n() + v.reshaped(Shape{120}).n(),
                    Catch::Contains("NHWC access"));
}

TEST_CASE("copy moves host data and checks shapes", "[runtime]") {
  Tensor a = Tensor::empty(Shape{4, 3}, DType::F64, Device::cpu());
  Tensor b = Tensor::empty(Shape{4, 3}, DType::F64, Device::cpu());
  for (int i = 0; i < 12; ++i) a.data<double>()[i] = i * 0.5;
  copy(b, a, Stream::cpu());
  CHECK(b.data<double>()[11] == 5.5);
  Tensor c = Tensor::empty(Shape{3, 4}, DType::F64, Device::cpu());
  CHECK_THROWS_WITH(copy(c, a, Stream::cpu()), Catch::Contains("shapes and dtypes must match"));
  Tensor d = Tensor::empty(Shape{4, 3}, DType::F32, Device::cpu());
  CHECK_THROWS_WITH(copy(d, a, Stream::cpu()), Catch::Contains("f64[4, 3]@cpu"));
}

TEST_CASE("CPU streams and events run synchronously", "[runtime]") {
  Stream s = Stream::create(Device::cpu());
  CHECK(s.handle() == nullptr);
  Event start, stop;
  start.record(s);
  stop.record(s);
  CHECK(stop.query());
  CHECK(start.elapsed_ms(stop) >= 0.f);
  CHECK_NOTHROW(stop.wait(s));
  CHECK_NOTHROW(s.synchronize());
}
