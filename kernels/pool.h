// Pooling: max pooling (ResNet's stem uses 3x3, stride 2, padding 1) and global average
// pooling (ResNet's head). Activations are NHWC.
//
// Max pooling keeps the winner's position: the forward pass writes an I32 index tensor of
// y's shape holding, per output element, h*W + w of the winning input in its sample's HxW
// plane (same channel). Backward is then a gather over at most ceil(k/s)^2 outputs per input
// with no window rescans, at the cost of 4 bytes per output element (ResNet-50, batch 32:
// 25.7 MB, a quarter of the pool's input, which the preceding ReLU keeps anyway).
// Recomputing from x and y instead would save that memory but make backward re-scan
// k*k inputs for each of those outputs.
//
// Semantics follow PyTorch: padding counts as -inf, the output size is
// floor((H + 2p - k) / s) + 1, the first maximum in row-major window order wins (so CPU and
// GPU agree exactly), and NaN propagates. Backward overwrites dx; each input's gradient is
// the sum, in row-major output order, of dy over the outputs it won (on CPU by zeroing and
// scattering, on GPU by one thread per input gathering: no atomics, and both sum in the same
// order, so the results agree bit for bit).
#pragma once

#include <string>

#include "runtime/stream.h"
#include "runtime/tensor.h"

namespace augur::kernels {

struct MaxPoolParams {
  int kernel_h = 3, kernel_w = 3;
  int stride_h = 2, stride_w = 2;
  int pad_h = 1, pad_w = 1;

  static MaxPoolParams square(int kernel, int stride, int pad) {
    return {kernel, kernel, stride, stride, pad, pad};
  }
  std::string str() const;
};

// The output shape for NHWC input `x`; throws naming the op when the parameters are invalid
// (kernel or stride < 1, padding < 0 or more than half the kernel, window larger than the
// padded input).
Shape max_pool_output_shape(const Shape& x, const MaxPoolParams& params);

#define AUGUR_POOL_SIGNATURES                                                                   \
  /* x [N,H,W,C] -> y [N,OH,OW,C] and argmax (I32, y's shape). */                               \
  void max_pool_forward(const TensorView& x, const TensorView& y, const TensorView& argmax,     \
                        const MaxPoolParams& params, const Stream& stream);                     \
  /* dx [N,H,W,C] (overwritten) from dy and argmax [N,OH,OW,C]. */                              \
  void max_pool_backward(const TensorView& dy, const TensorView& argmax, const TensorView& dx,  \
                         const MaxPoolParams& params, const Stream& stream);                    \
  /* x [N,H,W,C] -> y [N,C], the mean over H and W. */                                          \
  void global_avg_pool_forward(const TensorView& x, const TensorView& y, const Stream& stream); \
  /* dx [N,H,W,C] = dy [N,C] / (H*W), broadcast (overwritten). */                               \
  void global_avg_pool_backward(const TensorView& dy, const TensorView& dx, const Stream& stream);

namespace cpu {
AUGUR_POOL_SIGNATURES
}
namespace cuda {
AUGUR_POOL_SIGNATURES
}
AUGUR_POOL_SIGNATURES

#undef AUGUR_POOL_SIGNATURES

namespace detail {
// Argument checks shared by the CPU and CUDA entry points (`allow_f64`: CPU only).
void check_max_pool_forward(const TensorView& x, const TensorView& y, const TensorView& argmax,
                            const MaxPoolParams& params, bool allow_f64);
void check_max_pool_backward(const TensorView& dy, const TensorView& argmax, const TensorView& dx,
                             const MaxPoolParams& params, bool allow_f64);
void check_global_avg_pool(const char* op, const TensorView& x, const TensorView& y,
                           bool allow_f64);
}  // namespace detail

}  // namespace augur::kernels
