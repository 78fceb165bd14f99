// The CPU's bf16 mode. A bf16 kernel on the GPU reads bf16, computes in f32 and rounds what
// it stores to bf16; the CPU reference does the same in three steps: widen each bf16 input
// to f32 (exact), run the f32 kernel, round each bf16 output to nearest even. The stored
// tensors are then bit for bit what a bf16 implementation with f32 arithmetic stores, up to
// the order of its f32 sums, so the numerics of bf16 training can be tested on any machine.
//
// Each CPU kernel family enters it when one of its views is bf16, after checking the mix of
// dtypes it allows (activations, their gradients and the compute copy of the weights in bf16;
// statistics, losses and parameter gradients in f32).
#pragma once

#include <initializer_list>
#include <utility>
#include <vector>

#include "runtime/stream.h"
#include "runtime/tensor.h"

namespace augur::kernels::cpu {

// True when any non-empty view is bf16.
bool any_bf16(std::initializer_list<const TensorView*> views);

struct NamedView {
  const char* name;
  const TensorView* view;
};
// Throws naming the op and the view unless every non-empty view of `bf16` is bf16 and every
// non-empty view of `f32` is f32.
void require_bf16_mix(const char* op, std::initializer_list<NamedView> bf16,
                      std::initializer_list<NamedView> f32 = {});

// f32 stand-ins for bf16 views during one kernel call.
class Bf16Staging {
 public:
  explicit Bf16Staging(const Stream& stream) : stream_(stream) {}
  Bf16Staging(const Bf16Staging&) = delete;
  Bf16Staging& operator=(const Bf16Staging&) = delete;

  // An input: the view itself unless it is bf16, else an f32 copy of it.
  TensorView in(const TensorView& v);
  // An output: the view itself unless it is bf16, else an f32 scratch that finish() rounds
  // into it. `read_first`: the kernel also reads it (in-place updates), so the scratch starts
  // as its widened value.
  TensorView out(const TensorView& v, bool read_first = false);
  // Rounds every staged output into its bf16 view.
  void finish();

 private:
  const Stream& stream_;
  std::vector<Tensor> scratch_;
  std::vector<std::pair<TensorView, TensorView>> outputs_;  // (bf16 view, f32 scratch)
};

}  // namespace augur::kernels::cpu
