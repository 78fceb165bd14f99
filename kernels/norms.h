// The norms the engine logs to judge a prediction: |a - b|_2 and |a|_2 in one pass (a the
// predicted or stale weights, b the true ones). Sums are accumulated in double, in a fixed
// order that depends only on the element count, so a result is reproducible run to run.
#pragma once

#include "runtime/stream.h"
#include "runtime/tensor.h"

namespace augur::kernels {

#define AUGUR_NORMS_SIGNATURES                                                             \
  /* out (f64, 2 elements, on the stream's device) = { |a - b|_2, |a|_2 }. a and b: f32 or \
     bf16 (and f64 on CPU), same element count; b empty counts as zero. */                 \
  void norm_diff_and_norm(const TensorView& a, const TensorView& b, const TensorView& out, \
                          const Stream& stream);

namespace cpu {
AUGUR_NORMS_SIGNATURES
}
namespace cuda {
AUGUR_NORMS_SIGNATURES
}
AUGUR_NORMS_SIGNATURES

#undef AUGUR_NORMS_SIGNATURES

struct NormPair {
  double diff = 0;  // |a - b|_2
  double norm = 0;  // |a|_2
};

// The same, brought to the host (waits for the stream).
NormPair norm_diff_and_norm_host(const TensorView& a, const TensorView& b, const Stream& stream);

namespace detail {
void check_norm_args(const TensorView& a, const TensorView& b, const TensorView& out,
                     bool allow_f64);
}

}  // namespace augur::kernels
