// Fully connected layer on CUDA: cuBLAS GEMMs plus bias kernels, f32.
//
// cuBLAS is column-major; a row-major [r, c] matrix is the column-major [c, r] matrix, its
// transpose. So y = x w^T (row-major) is y^T = w x^T (column-major): gemm(T, N) with w and x.
#include <cublas_v2.h>

#include <climits>

#include "kernels/cuda_launch.cuh"
#include "kernels/gpu_math.h"
#include "kernels/linear.h"
#include "runtime/context.h"
#include "runtime/cuda_check.h"

namespace augur::kernels::cuda {

namespace {

// y[i, j] = b[j]: the GEMM then adds x w^T onto it (beta = 1).
template <class T>
__global__ void broadcast_rows_kernel(const T* __restrict__ b, T* y, int64_t rows, int64_t cols) {
  for_each_index(rows * cols, [&](int64_t i) { y[i] = b[i % cols]; });
}

template <class T>
__global__ void fill_kernel(T* p, T value, int64_t n) {
  for_each_index(n, [&](int64_t i) { p[i] = value; });
}

int as_int(int64_t v, const char* op) {
  AUGUR_ARG_CHECK(v >= 0 && v <= INT_MAX, op, ": dimension ", v, " too large for cuBLAS");
  return static_cast<int>(v);
}

// sgemm in f32 (FMA) arithmetic unless TF32 is allowed (see gpu_math.h). The runtime leaves
// the handles' math mode at its default, under which CUBLAS_COMPUTE_32F never uses TF32.
void sgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
           const float* alpha, const float* a, int lda, const float* b, int ldb, const float* beta,
           float* c, int ldc) {
  const cublasComputeType_t compute =
      gpu_allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  CUBLAS_CHECK(cublasGemmEx(h, ta, tb, m, n, k, alpha, a, CUDA_R_32F, lda, b, CUDA_R_32F, ldb, beta,
                            c, CUDA_R_32F, ldc, compute, CUBLAS_GEMM_DEFAULT));
}

}  // namespace

void linear_forward(const TensorView& x, const TensorView& w, const TensorView& b,
                    const TensorView& y, const Stream& stream) {
  const char* op = "linear_forward";
  detail::check_linear(op, x, w, b, y, false);
  const int n = as_int(x.dim(0), op), in = as_int(x.dim(1), op), out = as_int(w.dim(0), op);
  if (y.numel() == 0) return;
  cublasHandle_t h = DeviceContext::get(stream.device()).resources(stream).cublas();
  if (!b.empty()) {
    launch_linear("broadcast_rows_kernel", broadcast_rows_kernel<float>, y.numel(), stream,
                  b.data<float>(), y.data<float>(), int64_t(n), int64_t(out));
  }
  const float one = 1.f, beta = b.empty() ? 0.f : 1.f;
  sgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &one, w.data<float>(), in, x.data<float>(), in,
        &beta, y.data<float>(), out);
}

void linear_backward(const TensorView& x, const TensorView& w, const TensorView& dy,
                     const TensorView& dx, const TensorView& dw, const TensorView& db,
                     const Stream& stream) {
  const char* op = "linear_backward";
  detail::check_linear_backward(op, x, w, dy, dx, dw, db, false);
  const int n = as_int(x.dim(0), op), in = as_int(x.dim(1), op), out = as_int(w.dim(0), op);
  if (n == 0) return;
  StreamResources& res = DeviceContext::get(stream.device()).resources(stream);
  cublasHandle_t h = res.cublas();
  const float one = 1.f, zero = 0.f;
  // dx = dy w  <=>  dx^T = w^T dy^T (column-major).
  if (!dx.empty())
    sgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, &one, w.data<float>(), in, dy.data<float>(), out,
          &zero, dx.data<float>(), in);
  // dw += dy^T x  <=>  dw^T += x^T dy (column-major).
  sgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, &one, x.data<float>(), in, dy.data<float>(), out,
        &one, dw.data<float>(), in);
  if (!db.empty()) {
    // db += dy^T 1: the column sums of dy as a GEMV against a vector of ones.
    float* ones = static_cast<float*>(res.workspace(size_t(n) * sizeof(float)));
    launch_linear("fill_kernel", fill_kernel<float>, n, stream, ones, 1.f, int64_t(n));
    CUBLAS_CHECK(cublasSgemv(h, CUBLAS_OP_N, out, n, &one, dy.data<float>(), out, ones, 1, &one,
                             db.data<float>(), 1));
  }
}

}  // namespace augur::kernels::cuda
