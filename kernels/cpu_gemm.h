// Row-major GEMM for the CPU backend (OpenBLAS), in f32 and f64.
//
// OpenBLAS runs single-threaded here: the parallelism comes from the runtime's thread pool,
// which the kernels already use, and OpenBLAS's own threads running at the same time would
// oversubscribe the cores (and, in the pthread build, serialise concurrent callers on its
// thread server). The first call into this header switches OpenBLAS to one thread for the
// whole process (openblas_set_num_threads(1)); code that measures OpenBLAS's own
// multithreaded throughput must do so before that.
#pragma once

#include <cstdint>

namespace augur::kernels::cpu_gemm {

// C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, all row-major with leading dimensions
// lda, ldb, ldc; op(A) = A^T when trans_a (A then stored k x m). One OpenBLAS call on the
// calling thread.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

// The same product split over the thread pool by blocks of rows or columns of C (whichever
// dimension is longer), one OpenBLAS call per block. Inside a pool task it runs inline.
template <class T>
void parallel_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                   int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

// Makes OpenBLAS single-threaded (idempotent; gemm() calls it).
void use_single_threaded_blas();

}  // namespace augur::kernels::cpu_gemm
