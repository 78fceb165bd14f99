#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "tests/support/close.h"
#include "tests/support/random.h"

using namespace augur;
using namespace augur::test;

TEST_CASE("the derived tolerance grows with reduction length and roundoff", "[support]") {
  const Tolerance t1 = tolerance_for(DType::F32, 1);
  const Tolerance t100 = tolerance_for(DType::F32, 100);
  CHECK(t100.abs == Approx(t1.abs * 1000));  // sqrt(100) * 100 terms
  CHECK(tolerance_for(DType::BF16, 16).abs > tolerance_for(DType::F32, 16).abs * 1000);
  CHECK(t1.rel == Approx(2 * 0x1p-24));
}

TEST_CASE("a float dot product stays within the derived tolerance of the double one", "[support]") {
  for (int64_t k : {1, 7, 100, 4096}) {
    std::vector<float> out_f;
    std::vector<double> out_d;
    for (uint64_t seed = 1; seed <= 64; ++seed) {
      const auto a = random_floats(k, seed), b = random_floats(k, seed + 1000);
      float sf = 0;
      double sd = 0;
      for (int64_t i = 0; i < k; ++i) {
        sf += a[i] * b[i];
        sd += static_cast<double>(a[i]) * b[i];
      }
      out_f.push_back(sf);
      out_d.push_back(sd);
    }
    INFO("k = " << k);
    AUGUR_CHECK_CLOSE(out_f, out_d, tolerance_for(DType::F32, k));
  }
}

TEST_CASE("a deliberate mismatch is caught and reported with its index", "[support]") {
  std::vector<float> expected = random_floats(100, 3);
  std::vector<float> actual = expected;
  actual[42] += 1e-3f;
  const CloseReport r = compare_close(actual, expected, tolerance_for(DType::F32, 10));
  CHECK_FALSE(r.ok);
  CHECK(r.mismatches == 1);
  CHECK_THAT(r.text, Catch::Contains("[42]"));
  actual[7] = NAN;
  CHECK(compare_close(actual, expected, Tolerance{1e9, 1}).mismatches == 1);
  CHECK_FALSE(compare_close(std::vector<float>(3), std::vector<float>(4), Tolerance{}).ok);
}
