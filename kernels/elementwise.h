// Pointwise ops: ReLU forward/backward, residual add, gradient accumulation.
// Views may alias where noted (in-place use is how the layers save memory).
#pragma once

#include "runtime/stream.h"
#include "runtime/tensor.h"

namespace augur::kernels {

#define AUGUR_ELEMENTWISE_SIGNATURES                                                             \
  /* y = max(x, 0); y may alias x. */                                                            \
  void relu_forward(const TensorView& x, const TensorView& y, const Stream& stream);             \
  /* dx = dy * (y > 0); dx may alias dy. */                                                      \
  void relu_backward(const TensorView& y, const TensorView& dy, const TensorView& dx,            \
                     const Stream& stream);                                                      \
  /* y = a + b; y may alias a or b. */                                                           \
  void add(const TensorView& a, const TensorView& b, const TensorView& y, const Stream& stream); \
  /* dst += src (gradients of a tensor that fans out). */                                        \
  void accumulate(const TensorView& src, const TensorView& dst, const Stream& stream);           \
  /* x += value for every element (counters kept on the device, e.g. BN's batch count). */       \
  void add_scalar(const TensorView& x, double value, const Stream& stream);                      \
  /* x *= alpha for every element (e.g. averaging accumulated micro-batch gradients). */         \
  void scale(const TensorView& x, double alpha, const Stream& stream);

namespace cpu {
AUGUR_ELEMENTWISE_SIGNATURES
}
namespace cuda {
AUGUR_ELEMENTWISE_SIGNATURES
}
AUGUR_ELEMENTWISE_SIGNATURES

#undef AUGUR_ELEMENTWISE_SIGNATURES

}  // namespace augur::kernels
