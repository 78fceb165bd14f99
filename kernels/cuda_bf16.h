// bf16 storage in the CUDA kernel families: the host side of their bf16 paths. A family runs
// bf16 when its activation views are bf16 (the same mix of dtypes the CPU emulation allows,
// kernels/bf16_emulation.h: activations, their gradients and the compute copy of the weights
// in bf16; statistics, losses and parameter gradients in f32); its kernels read bf16, compute
// in f32 and round what they store to nearest even, so they store what the CPU emulation
// stores up to the order of f32 sums.
#pragma once

#include "kernels/bf16_emulation.h"
#include "runtime/tensor.h"

namespace augur::kernels::cuda {

inline bool is_bf16(const TensorView& v) {
  return !v.empty() && v.dtype() == DType::BF16;
}

// The view relabelled f32 with its shape and device, for the families' argument checks, which
// read shapes and dtypes only, never data, after the bf16 mix was checked.
inline TensorView checked_as_f32(const TensorView& v) {
  if (v.empty() || v.dtype() != DType::BF16) return v;
  return TensorView(v.raw(), DType::F32, v.device(), v.shape());
}

// Host-side check shared with the CPU emulation (it touches no data, so it serves both).
using cpu::NamedView;
using cpu::require_bf16_mix;

}  // namespace augur::kernels::cuda
