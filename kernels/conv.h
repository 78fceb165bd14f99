// 2-D convolution (cross-correlation, dilation 1, one group, no bias) over NHWC views.
//
//   x  [N, H, W, C]   input activations
//   w  [K, R, S, C]   filters, "KRSC" / "OHWI" (out channels, kernel rows, kernel cols,
//                     in channels); PyTorch's OIHW is converted on import
//   y  [N, P, Q, K]   P = (H + 2 pad_h - R) / stride_h + 1, Q likewise
//
// Gradient rule: backward_data overwrites dx (an activation gradient); backward_filter
// accumulates into dw (a parameter gradient, zeroed by the optimizer step).
//
// CPU: im2col + OpenBLAS GEMM over tiles of output pixels on the runtime's thread pool, in
// f32 and f64; narrow f32 layers (16-64 output channels, kernels larger than 1x1) on CPUs
// with AVX-512 run direct kernels instead (conv_direct.h). CUDA: cuDNN's convolution API
// (f32), algorithm chosen once per shape.
#pragma once

#include "runtime/stream.h"
#include "runtime/tensor.h"

namespace augur::kernels {

struct ConvParams {
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
};

// [N, P, Q, K] for an input of shape x [N, H, W, C] and filters w [K, R, S, C]; throws naming
// the shapes when they do not describe a convolution (ranks, channels, strides, padding, an
// empty output).
Shape conv_output_shape(const Shape& x, const Shape& w, const ConvParams& params);

#define AUGUR_CONV_SIGNATURES                                                                \
  /* y = conv(x, w); y is overwritten. */                                                    \
  void conv_forward(const TensorView& x, const TensorView& w, const TensorView& y,           \
                    const ConvParams& params, const Stream& stream);                         \
  /* dx = d(sum y*dy)/dx; dx is overwritten. */                                              \
  void conv_backward_data(const TensorView& dy, const TensorView& w, const TensorView& dx,   \
                          const ConvParams& params, const Stream& stream);                   \
  /* dw += d(sum y*dy)/dw. */                                                                \
  void conv_backward_filter(const TensorView& x, const TensorView& dy, const TensorView& dw, \
                            const ConvParams& params, const Stream& stream);

namespace cpu {
AUGUR_CONV_SIGNATURES
}
namespace cuda {
AUGUR_CONV_SIGNATURES
}
AUGUR_CONV_SIGNATURES

#undef AUGUR_CONV_SIGNATURES

// The CPU's direct kernels for narrow f32 layers: on by default (AUGUR_CPU_DIRECT_CONV=0 in
// the environment starts a process with them off); off sends every CPU conv through im2col +
// GEMM (to compare the two, as the tests and bench_resnet_cpu do). Active only where the CPU
// has AVX-512.
void set_cpu_direct_conv(bool enabled);
bool cpu_direct_conv_active();

namespace detail {
// Validates one conv call: ranks, dtypes (f32, or f64 when allow_f64), channels and the
// output shape. `x`, `w`, `y` are the input, filter and output roles whatever the op;
// the names are the caller's argument names, for the message.
void check_conv(const char* op, const TensorView& x, const TensorView& w, const TensorView& y,
                const ConvParams& params, bool allow_f64, const char* x_name = "x",
                const char* w_name = "w", const char* y_name = "y");
}  // namespace detail

}  // namespace augur::kernels
