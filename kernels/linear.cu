// Fully connected layer on CUDA: cuBLAS GEMMs plus bias kernels, f32 or bf16 (bf16
// activations and weights, f32 accumulation; parameter gradients f32).
//
// cuBLAS is column-major; a row-major [r, c] matrix is the column-major [c, r] matrix, its
// transpose. So y = x w^T (row-major) is y^T = w x^T (column-major): gemm(T, N) with w and x.
#include <cublas_v2.h>

#include <climits>

#include "kernels/cuda_bf16.h"
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

cudaDataType_t cuda_type(const TensorView& v) {
  return v.dtype() == DType::BF16 ? CUDA_R_16BF : CUDA_R_32F;
}

// C = alpha op(A) op(B) + beta C with f32 scalars and accumulation. f32 operands use FMA
// arithmetic unless TF32 is allowed (see gpu_math.h; the runtime leaves the handles' math
// mode at its default, under which CUBLAS_COMPUTE_32F never uses TF32); bf16 operands (with a
// bf16 or f32 C) run on tensor cores, whose products of bf16 values are exact.
void gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
          const float* alpha, const TensorView& a, int lda, const TensorView& b, int ldb,
          const float* beta, const TensorView& c, int ldc) {
  const cublasComputeType_t compute = gpu_allow_tf32() && a.dtype() == DType::F32
                                          ? CUBLAS_COMPUTE_32F_FAST_TF32
                                          : CUBLAS_COMPUTE_32F;
  CUBLAS_CHECK(cublasGemmEx(h, ta, tb, m, n, k, alpha, a.raw(), cuda_type(a), lda, b.raw(),
                            cuda_type(b), ldb, beta, c.raw(), cuda_type(c), ldc, compute,
                            CUBLAS_GEMM_DEFAULT));
}

}  // namespace

void linear_forward(const TensorView& x, const TensorView& w, const TensorView& b,
                    const TensorView& y, const Stream& stream) {
  const char* op = "linear_forward";
  const bool bf16 = is_bf16(x) || is_bf16(w) || is_bf16(b) || is_bf16(y);
  if (bf16) require_bf16_mix(op, {{"x", &x}, {"w", &w}, {"b", &b}, {"y", &y}});
  detail::check_linear(op, checked_as_f32(x), checked_as_f32(w), checked_as_f32(b),
                       checked_as_f32(y), false);
  const int n = as_int(x.dim(0), op), in = as_int(x.dim(1), op), out = as_int(w.dim(0), op);
  if (y.numel() == 0) return;
  cublasHandle_t h = DeviceContext::get(stream.device()).resources(stream).cublas();
  if (!b.empty()) {
    if (bf16)
      launch_linear("broadcast_rows_kernel", broadcast_rows_kernel<__nv_bfloat16>, y.numel(),
                    stream, b.data<__nv_bfloat16>(), y.data<__nv_bfloat16>(), int64_t(n),
                    int64_t(out));
    else
      launch_linear("broadcast_rows_kernel", broadcast_rows_kernel<float>, y.numel(), stream,
                    b.data<float>(), y.data<float>(), int64_t(n), int64_t(out));
  }
  // bf16: the bias (exact in bf16) and x w^T add in f32 and round once, as on the CPU.
  const float one = 1.f, beta = b.empty() ? 0.f : 1.f;
  gemm(h, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &one, w, in, x, in, &beta, y, out);
}

void linear_backward(const TensorView& x, const TensorView& w, const TensorView& dy,
                     const TensorView& dx, const TensorView& dw, const TensorView& db,
                     const Stream& stream) {
  const char* op = "linear_backward";
  const bool bf16 =
      is_bf16(x) || is_bf16(w) || is_bf16(dy) || is_bf16(dx) || is_bf16(dw) || is_bf16(db);
  // bf16 mode: activations, the weights' compute copy and dx bf16; dw and db f32.
  if (bf16)
    require_bf16_mix(op, {{"x", &x}, {"w", &w}, {"dy", &dy}, {"dx", &dx}},
                     {{"dw", &dw}, {"db", &db}});
  detail::check_linear_backward(op, checked_as_f32(x), checked_as_f32(w), checked_as_f32(dy),
                                checked_as_f32(dx), dw, db, false);
  const int n = as_int(x.dim(0), op), in = as_int(x.dim(1), op), out = as_int(w.dim(0), op);
  if (n == 0) return;
  StreamResources& res = DeviceContext::get(stream.device()).resources(stream);
  cublasHandle_t h = res.cublas();
  const float one = 1.f, zero = 0.f;
  // dx = dy w  <=>  dx^T = w^T dy^T (column-major).
  if (!dx.empty())
    gemm(h, CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, &one, w, in, dy, out, &zero, dx, in);
  // dw += dy^T x  <=>  dw^T += x^T dy (column-major).
  gemm(h, CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, &one, x, in, dy, out, &one, dw, in);
  if (!db.empty()) {
    // db += dy^T 1: the column sums of dy, against a vector of ones: a GEMV in f32 (FMA
    // arithmetic even when TF32 is allowed), a GEMM with bf16 operands and f32 result in bf16.
    void* ones = res.workspace(size_t(n) * dtype_size(dy.dtype()));
    if (bf16) {
      launch_linear("fill_kernel", fill_kernel<__nv_bfloat16>, n, stream,
                    static_cast<__nv_bfloat16*>(ones), __float2bfloat16(1.f), int64_t(n));
      const TensorView ones_view(ones, DType::BF16, stream.device(), Shape{n});
      gemm(h, CUBLAS_OP_N, CUBLAS_OP_N, out, 1, n, &one, dy, out, ones_view, n, &one, db, out);
    } else {
      launch_linear("fill_kernel", fill_kernel<float>, n, stream, static_cast<float*>(ones), 1.f,
                    int64_t(n));
      CUBLAS_CHECK(cublasSgemv(h, CUBLAS_OP_N, out, n, &one, dy.data<float>(), out,
                               static_cast<float*>(ones), 1, &one, db.data<float>(), 1));
    }
  }
}

}  // namespace augur::kernels::cuda
