// Fully connected layer over rank-2 views, PyTorch's layout:
//   x [N, in], w [out, in], b [out] (or an empty view: no bias), y [N, out]
//   y = x w^T + b
// Gradient rule: dx is overwritten (an activation gradient; pass an empty view to skip it),
// dw and db accumulate (parameter gradients; db may be empty when there is no bias).
//
// CPU: OpenBLAS GEMMs split over the runtime's thread pool, f32 and f64. CUDA: cuBLAS f32.
#pragma once

#include "runtime/stream.h"
#include "runtime/tensor.h"

namespace augur::kernels {

#define AUGUR_LINEAR_SIGNATURES                                                          \
  void linear_forward(const TensorView& x, const TensorView& w, const TensorView& b,     \
                      const TensorView& y, const Stream& stream);                        \
  void linear_backward(const TensorView& x, const TensorView& w, const TensorView& dy,   \
                       const TensorView& dx, const TensorView& dw, const TensorView& db, \
                       const Stream& stream);

namespace cpu {
AUGUR_LINEAR_SIGNATURES
}
namespace cuda {
AUGUR_LINEAR_SIGNATURES
}
AUGUR_LINEAR_SIGNATURES

#undef AUGUR_LINEAR_SIGNATURES

namespace detail {
// Validates x, w, y ([N, in], [out, in], [N, out]), the optional b/db ([out]) and dtypes
// (f32, or f64 when allow_f64). `y_name` names the third view in messages ("y" or "dy").
void check_linear(const char* op, const TensorView& x, const TensorView& w, const TensorView& b,
                  const TensorView& y, bool allow_f64, const char* y_name = "y");
// The same for a backward call: dx (when not empty) matches x, dw matches w, db as b.
void check_linear_backward(const char* op, const TensorView& x, const TensorView& w,
                           const TensorView& dy, const TensorView& dx, const TensorView& dw,
                           const TensorView& db, bool allow_f64);
}  // namespace detail

}  // namespace augur::kernels
