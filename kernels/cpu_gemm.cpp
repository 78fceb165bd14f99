#include "kernels/cpu_gemm.h"

#include <cblas.h>

#include <algorithm>
#include <climits>
#include <mutex>

#include "runtime/error.h"
#include "runtime/thread_pool.h"

namespace augur::kernels::cpu_gemm {

namespace {

// Below this many flops a task costs more to hand to another thread than to run.
constexpr double kMinFlopsPerTask = double(1 << 22);
// Blocks of C start on multiples of this, so each keeps whole register tiles of the kernel.
constexpr int64_t kBlockAlign = 16;

blasint as_blasint(int64_t v) {
  AUGUR_CHECK(v >= 0 && v <= INT_MAX, "GEMM dimension ", v, " exceeds the BLAS integer range");
  return static_cast<blasint>(v);
}

void call(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              as_blasint(m), as_blasint(n), as_blasint(k), alpha, a, as_blasint(lda), b,
              as_blasint(ldb), beta, c, as_blasint(ldc));
}

void call(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
          int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              as_blasint(m), as_blasint(n), as_blasint(k), alpha, a, as_blasint(lda), b,
              as_blasint(ldb), beta, c, as_blasint(ldc));
}

}  // namespace

void use_single_threaded_blas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  use_single_threaded_blas();
  // BLAS requires leading dimensions >= 1 even for empty operands.
  call(trans_a, trans_b, m, n, k, alpha, a, std::max<int64_t>(lda, 1), b, std::max<int64_t>(ldb, 1),
       beta, c, std::max<int64_t>(ldc, 1));
}

template <class T>
void parallel_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                   int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  ThreadPool& pool = ThreadPool::global();
  const double flops = 2.0 * double(m) * double(n) * double(k);
  const bool split_rows = m >= n;
  const int64_t dim = split_rows ? m : n;
  const int64_t by_work = static_cast<int64_t>(flops / kMinFlopsPerTask);
  const int64_t parts = std::min<int64_t>({pool.size(), by_work, dim / kBlockAlign});
  if (parts <= 1) {
    gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  const int64_t piece = (dim + parts - 1) / parts;
  const int64_t block = (piece + kBlockAlign - 1) / kBlockAlign * kBlockAlign;
  const int64_t blocks = (dim + block - 1) / block;
  pool.parallel_for(0, blocks, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const int64_t start = i * block, len = std::min(block, dim - start);
      if (split_rows)
        gemm(trans_a, trans_b, len, n, k, alpha, trans_a ? a + start : a + start * lda, lda, b, ldb,
             beta, c + start * ldc, ldc);
      else
        gemm(trans_a, trans_b, m, len, k, alpha, a, lda, trans_b ? b + start * ldb : b + start, ldb,
             beta, c + start, ldc);
    }
  });
}

#define AUGUR_GEMM_INSTANTIATE(T)                                                              \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*, \
                        int64_t, T, T*, int64_t);                                              \
  template void parallel_gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t,  \
                                 const T*, int64_t, T, T*, int64_t);
AUGUR_GEMM_INSTANTIATE(float)
AUGUR_GEMM_INSTANTIATE(double)
#undef AUGUR_GEMM_INSTANTIATE

}  // namespace augur::kernels::cpu_gemm
