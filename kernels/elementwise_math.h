// Per-element math of the pointwise kernels, shared by CUDA and CPU.
#pragma once

#include "kernels/hd.h"

namespace augur::kernels {

template <class T>
AUGUR_HD T relu_value(T x) {
  return x > T(0) ? x : T(0);
}

// ReLU's gradient taken from its output: y > 0 exactly where x > 0, so the output suffices
// and the input need not be kept (this also makes in-place ReLU safe). At x = 0 the
// subgradient 0 is used, as PyTorch does.
template <class T>
AUGUR_HD T relu_grad_from_output(T y, T dy) {
  return y > T(0) ? dy : T(0);
}

}  // namespace augur::kernels
