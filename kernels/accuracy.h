// Top-1 and top-k accuracy counts of a batch: logits [N, classes] (f32; f64 on CPU), labels
// i64 [N], counts i64 [2] = {samples whose label is in the top 1, ... in the top k}
// (overwritten). k >= 1; k > classes is clamped to classes (every valid label is then a hit).
//
// Ties: a label is in the top k when fewer than k logits are strictly greater than its own
// logit, so a label tied for first place counts as a top-1 hit; a NaN label logit is never a
// hit (kernels/softmax_xent_math.h). The rule uses comparisons alone, so CPU and GPU agree
// exactly.
//
// Labels outside [0, classes) throw, naming the first bad sample: checked on the host by the
// CPU reference; on GPU marked by the kernel and read back, so each call synchronises its
// stream once (the counts are exact integers, summed without atomics).
#pragma once

#include "runtime/stream.h"
#include "runtime/tensor.h"

namespace augur::kernels {

#define AUGUR_ACCURACY_SIGNATURES                                                                  \
  void accuracy_topk(const TensorView& logits, const TensorView& labels, const TensorView& counts, \
                     int k, const Stream& stream);

namespace cpu {
AUGUR_ACCURACY_SIGNATURES
}
namespace cuda {
AUGUR_ACCURACY_SIGNATURES
}
AUGUR_ACCURACY_SIGNATURES

#undef AUGUR_ACCURACY_SIGNATURES

namespace detail {
// Argument checks shared by the CPU and CUDA entry points.
void check_accuracy(const TensorView& logits, const TensorView& labels, const TensorView& counts,
                    int k, bool allow_f64);
}  // namespace detail

}  // namespace augur::kernels
