#include "kernels/bf16_emulation.h"

#include "kernels/convert.h"

namespace augur::kernels::cpu {

bool any_bf16(std::initializer_list<const TensorView*> views) {
  for (const TensorView* v : views)
    if (!v->empty() && v->dtype() == DType::BF16) return true;
  return false;
}

void require_bf16_mix(const char* op, std::initializer_list<NamedView> bf16,
                      std::initializer_list<NamedView> f32) {
  for (const NamedView& v : bf16)
    AUGUR_ARG_CHECK(v.view->empty() || v.view->dtype() == DType::BF16, op, ": ", v.name, " ",
                    v.view->str(), " should be bf16 in a bf16 call");
  for (const NamedView& v : f32)
    AUGUR_ARG_CHECK(v.view->empty() || v.view->dtype() == DType::F32, op, ": ", v.name, " ",
                    v.view->str(),
                    " should be f32 in a bf16 call (statistics, losses and "
                    "parameter gradients stay f32)");
}

TensorView Bf16Staging::in(const TensorView& v) {
  if (v.empty() || v.dtype() != DType::BF16) return v;
  scratch_.push_back(Tensor::empty(v.shape(), DType::F32, v.device()));
  const TensorView f = scratch_.back().view();
  convert(v, f, stream_);
  return f;
}

TensorView Bf16Staging::out(const TensorView& v, bool read_first) {
  if (v.empty() || v.dtype() != DType::BF16) return v;
  scratch_.push_back(Tensor::empty(v.shape(), DType::F32, v.device()));
  const TensorView f = scratch_.back().view();
  if (read_first) convert(v, f, stream_);
  outputs_.emplace_back(v, f);
  return f;
}

void Bf16Staging::finish() {
  for (const auto& [bf16_view, f32_view] : outputs_) convert(f32_view, bf16_view, stream_);
  outputs_.clear();
  scratch_.clear();
}

}  // namespace augur::kernels::cpu
