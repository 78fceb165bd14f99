// Index arithmetic and comparison rules of the pooling kernels, shared by CUDA and CPU so both
// pick the same window, the same winner and the same summation order.
#pragma once

#include "kernels/hd.h"

namespace augur::kernels {

// Whether `v` replaces the running maximum `best` while scanning a window in row-major order.
// Strictly greater, so the first of equal maxima wins (PyTorch's rule); a NaN wins over any
// number, and the first NaN stays (PyTorch propagates NaN through max pooling).
template <class T>
AUGUR_HD bool max_pool_takes(T v, T best) {
  return v > best || (v != v && best == best);
}

// Index type I: int32_t where a launch's extents allow (cheaper division on the GPU), else
// int64_t.
//
// The window of output row `o` along one axis covers inputs [o*stride - pad, ... + kernel),
// clipped to [0, size): returns the first input index and writes the end (exclusive).
template <class I>
AUGUR_HD I pool_window_begin(I o, int stride, int pad, int kernel, I size, I* end) {
  const I start = o * stride - pad;
  const I stop = start + kernel;
  *end = stop < size ? stop : size;
  return start > 0 ? start : 0;
}

// The outputs along one axis whose windows contain input `i`: [first, last], possibly empty
// (first > last) when stride > kernel leaves gaps. Output o covers i when
// o*stride - pad <= i <= o*stride - pad + kernel - 1.
template <class I>
AUGUR_HD I pool_outputs_covering(I i, int stride, int pad, int kernel, I outputs, I* last) {
  const I hi = (i + pad) / stride;  // i + pad >= 0
  const I lo_num = i + pad - kernel + 1;
  const I lo = lo_num <= 0 ? 0 : (lo_num + stride - 1) / stride;
  *last = hi < outputs - 1 ? hi : outputs - 1;
  return lo;
}

// Global average pooling divides (rather than multiplying by a rounded 1/count) on both
// sides, so that forward and backward round identically on CPU and GPU.
template <class T, class I>
AUGUR_HD T avg_pool_value(T sum, I count) {
  return sum / static_cast<T>(count);
}
template <class T, class I>
AUGUR_HD T avg_pool_grad(T dy, I count) {
  return dy / static_cast<T>(count);
}

}  // namespace augur::kernels
