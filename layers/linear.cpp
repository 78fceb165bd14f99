#include "layers/linear.h"

#include "kernels/linear.h"

namespace augur {

Linear::Linear(std::string name, int in_features, int out_features)
    : Layer(std::move(name)), in_(in_features), out_(out_features) {
  AUGUR_ARG_CHECK(in_features > 0 && out_features > 0, this->name(), ": invalid Linear (", in_,
                  " -> ", out_, ")");
}

void Linear::declare(ArenaLayout& params, ArenaLayout&) {
  weight_ = params[params.add(name() + ".weight", Shape{out_, in_})];
  bias_ = params[params.add(name() + ".bias", Shape{out_}, true)];
}

Shape Linear::output_shape(const Shape& input) const {
  AUGUR_ARG_CHECK(input.rank() == 2 && input[1] == in_, name(), ": expected [N, ", in_,
                  "] input, got ", input.str());
  return Shape{input[0], out_};
}

TensorView Linear::forward(const Pass& pass, Saved& saved, const TensorView& x) {
  saved.owned.push_back(Tensor::empty(output_shape(x.shape()), x.dtype(), x.device(), pass.stream));
  kernels::linear_forward(x, entry_view(pass.weights, weight_), entry_view(pass.weights, bias_),
                          saved.owned[0], *pass.stream);
  saved.views.push_back(x);
  return saved.owned[0].view();
}

Tensor Linear::backward(const Pass& pass, Saved& saved, const TensorView& dy,
                        bool need_input_grad) {
  AUGUR_CHECK(saved.views.size() == 1, name(), ": backward without a forward");
  const TensorView& x = saved.views[0];
  Tensor dx;
  if (need_input_grad) dx = Tensor::empty(x.shape(), x.dtype(), x.device(), pass.stream);
  kernels::linear_backward(
      x, entry_view(pass.weights, weight_), dy, need_input_grad ? dx.view() : TensorView(),
      entry_view(pass.grads, weight_), entry_view(pass.grads, bias_), *pass.stream);
  return dx;
}

}  // namespace augur
