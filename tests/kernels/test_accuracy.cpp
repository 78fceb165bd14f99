#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/accuracy.h"
#include "tests/support/gpu.h"
#include "tests/support/random.h"
#include "tests/support/tensors.h"

using namespace augur;
using namespace augur::test;
namespace k = augur::kernels;

namespace {

const Device kCpu = Device::cpu();

template <class T>
std::vector<int64_t> counts_cpu(const std::vector<T>& z, const std::vector<int64_t>& y,
                                int64_t classes, int topk) {
  const Stream& s = Stream::cpu();
  const int64_t n = static_cast<int64_t>(y.size());
  Tensor logits = make_tensor(z, Shape{n, classes}, kCpu, s);
  Tensor labels = make_tensor(y, Shape{n}, kCpu, s);
  Tensor counts = make_tensor<int64_t>({-1, -1}, Shape{2}, kCpu, s);
  k::accuracy_topk(logits, labels, counts, topk, s);
  return to_vector<int64_t>(counts, s);
}

}  // namespace

TEST_CASE("top-1 and top-5 counts on a handmade batch with ties", "[kernels][accuracy]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // Per row: logits, label, number of logits strictly greater than the label's, hits.
  const std::vector<double> z = {
      0.1, 0.9, 0.3, 0.2, 0.0, 0.5,  // label 1 (0.9): 0 greater      -> top-1, top-5
      0.1, 0.9, 0.3, 0.2, 0.0, 0.5,  // label 2 (0.3): 2 greater      -> top-5
      1,   1,   0,   0,   0,   0,    // label 0: tied first, 0 greater -> top-1, top-5
      1,   1,   0,   0,   0,   0,    // label 1: the other tied one   -> top-1, top-5
      5,   5,   5,   5,   5,   1,    // label 5: 5 greater             -> neither
      2,   2,   2,   2,   2,   2,    // label 3: all tied, 0 greater   -> top-1, top-5
      6,   5,   4,   3,   2,   1,    // label 4 (2): 4 greater         -> top-5
      6,   5,   4,   3,   2,   1,    // label 5 (1): 5 greater         -> neither
      nan, 0,   0,   0,   0,   0,    // label 0 is NaN: never a hit
      nan, 1,   0,   0,   0,   0,    // label 1: NaN is never greater  -> top-1, top-5
  };
  const std::vector<int64_t> y = {1, 2, 0, 1, 5, 3, 4, 5, 0, 1};
  CHECK(counts_cpu(z, y, 6, 5) == std::vector<int64_t>{5, 7});
  CHECK(counts_cpu(std::vector<float>(z.begin(), z.end()), y, 6, 5) == std::vector<int64_t>{5, 7});
  // k = 3: rows 0, 1, 2, 3, 5 and 9 (row 6 has 4 greater).
  CHECK(counts_cpu(z, y, 6, 3) == std::vector<int64_t>{5, 6});
  // k = 1: both counts are top-1.
  CHECK(counts_cpu(z, y, 6, 1) == std::vector<int64_t>{5, 5});
}

TEST_CASE("top-k with fewer classes than k clamps k to the class count", "[kernels][accuracy]") {
  // Three classes, k = 5 -> k = 3: every label is in the top 3.
  const std::vector<float> z = {0.5f, 0.1f, 0.2f, 0.0f, 3.0f, -1.0f};
  CHECK(counts_cpu(z, {2, 0}, 3, 5) == std::vector<int64_t>{0, 2});
  CHECK(counts_cpu(z, {0, 1}, 3, 5) == std::vector<int64_t>{2, 2});
  // One class: everything is a hit.
  CHECK(counts_cpu(std::vector<float>{-7.f, 2.f}, {0, 0}, 1, 5) == std::vector<int64_t>{2, 2});
  // An empty batch counts nothing.
  CHECK(counts_cpu(std::vector<float>{}, {}, 10, 5) == std::vector<int64_t>{0, 0});
}

TEST_CASE("accuracy rejects bad labels, k and shapes", "[kernels][accuracy]") {
  const Stream& s = Stream::cpu();
  Tensor logits = Tensor::zeros(Shape{3, 4}, DType::F32, kCpu, s);
  Tensor counts = Tensor::zeros(Shape{2}, DType::I64, kCpu, s);
  Tensor ok = make_tensor<int64_t>({0, 3, 1}, Shape{3}, kCpu, s);
  Tensor bad = make_tensor<int64_t>({0, 3, 9}, Shape{3}, kCpu, s);
  CHECK_THROWS_WITH(k::accuracy_topk(logits, bad, counts, 5, s),
                    Catch::Contains("accuracy_topk: label 9 of sample 2 is out of range [0, 4)"));
  CHECK_THROWS_WITH(k::accuracy_topk(logits, ok, counts, 0, s), Catch::Contains("k = 0"));
  Tensor counts32 = Tensor::zeros(Shape{2}, DType::I32, kCpu, s);
  CHECK_THROWS_WITH(k::accuracy_topk(logits, ok, counts32, 5, s), Catch::Contains("counts i32[2]"));
  Tensor short_labels = make_tensor<int64_t>({0}, Shape{1}, kCpu, s);
  CHECK_THROWS_WITH(k::accuracy_topk(logits, short_labels, counts, 5, s),
                    Catch::Contains("i64[3]"));
}

TEST_CASE("gpu: accuracy counts match the CPU reference exactly", "[gpu][kernels][accuracy]") {
  AUGUR_REQUIRE_GPU();
  const Stream& cs = Stream::cpu();
  Stream gs = Stream::create(Device::cuda(0));
  const Device gpu = Device::cuda(0);
  struct Case {
    int64_t n, classes;
    bool ties;
  };
  uint64_t seed = 600;
  for (const Case c : {Case{1, 10, false}, Case{256, 1000, false}, Case{300, 10, true},
                       Case{64, 1000, true}, Case{9, 3, true}, Case{0, 10, false}}) {
    for (int topk : {1, 5}) {
      INFO("[" << c.n << ", " << c.classes << "] k " << topk << (c.ties ? ", many ties" : ""));
      auto z = random_floats(c.n * c.classes, ++seed, 0.f, 4.f);
      if (c.ties)
        for (float& v : z) v = std::floor(v);
      Rng rng(++seed);
      std::vector<int64_t> y(static_cast<size_t>(c.n));
      for (auto& v : y) v = static_cast<int64_t>(rng.next_u64() % c.classes);
      const Shape zs{c.n, c.classes};
      Tensor logits = make_tensor(z, zs, kCpu, cs), logits_d = make_tensor(z, zs, gpu, gs);
      Tensor labels = make_tensor(y, Shape{c.n}, kCpu, cs);
      Tensor labels_d = make_tensor(y, Shape{c.n}, gpu, gs);
      Tensor counts = Tensor::zeros(Shape{2}, DType::I64, kCpu, cs);
      Tensor counts_d = Tensor::zeros(Shape{2}, DType::I64, gpu, gs);
      k::accuracy_topk(logits, labels, counts, topk, cs);
      k::accuracy_topk(logits_d, labels_d, counts_d, topk, gs);
      CHECK(to_vector<int64_t>(counts_d, gs) == to_vector<int64_t>(counts, cs));
    }
  }
}

TEST_CASE("gpu: accuracy reports an out-of-range label", "[gpu][kernels][accuracy]") {
  AUGUR_REQUIRE_GPU();
  Stream gs = Stream::create(Device::cuda(0));
  const Device gpu = Device::cuda(0);
  Tensor logits = Tensor::zeros(Shape{4, 10}, DType::F32, gpu, gs);
  Tensor counts = Tensor::zeros(Shape{2}, DType::I64, gpu, gs);
  Tensor labels = make_tensor<int64_t>({1, 2, 10, -3}, Shape{4}, gpu, gs);
  CHECK_THROWS_WITH(k::accuracy_topk(logits, labels, counts, 5, gs),
                    Catch::Contains("accuracy_topk: label 10 of sample 2 is out of range [0, 10)"));
}
