// Element-type conversion between two views of one shape: f32 <-> bf16 and f32 <-> f64.
// f32 -> bf16 rounds to nearest, ties to even (CUDA's __float2bfloat16_rn; runtime/bf16.h on
// the host), so a bf16 tensor holds the same bits whichever device wrote it. bf16 mode makes
// the compute copy of the weights with it, and the CPU's bf16 emulation widens and rounds
// through it (kernels/bf16_emulation.h).
#pragma once

#include "runtime/stream.h"
#include "runtime/tensor.h"

namespace augur::kernels {

#define AUGUR_CONVERT_SIGNATURES \
  void convert(const TensorView& src, const TensorView& dst, const Stream& stream);

namespace cpu {
AUGUR_CONVERT_SIGNATURES
}
namespace cuda {
AUGUR_CONVERT_SIGNATURES
}
AUGUR_CONVERT_SIGNATURES

#undef AUGUR_CONVERT_SIGNATURES

namespace detail {
// Throws naming both views unless their shapes match and (src, dst) is a supported pair.
void check_convert(const TensorView& src, const TensorView& dst, bool allow_f64);
}  // namespace detail

}  // namespace augur::kernels
