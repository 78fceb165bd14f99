#include "layers/conv2d.h"

namespace augur {

Conv2d::Conv2d(std::string name, int in_channels, int out_channels, int kernel, int stride,
               int padding)
    : Layer(std::move(name)), in_(in_channels), out_(out_channels), kernel_(kernel) {
  AUGUR_ARG_CHECK(in_channels > 0 && out_channels > 0 && kernel > 0 && stride > 0 && padding >= 0,
                  this->name(), ": invalid conv (in ", in_channels, ", out ", out_channels,
                  ", kernel ", kernel, ", stride ", stride, ", padding ", padding, ")");
  params_.stride_h = params_.stride_w = stride;
  params_.pad_h = params_.pad_w = padding;
}

void Conv2d::declare(ArenaLayout& params, ArenaLayout&) {
  weight_ = params[params.add(name() + ".weight", Shape{out_, kernel_, kernel_, in_})];
}

Shape Conv2d::output_shape(const Shape& input) const {
  AUGUR_ARG_CHECK(input.rank() == 4 && input[3] == in_, name(), ": expected an NHWC input with ",
                  in_, " channels, got ", input.str());
  return kernels::conv_output_shape(input, Shape{out_, kernel_, kernel_, in_}, params_);
}

TensorView Conv2d::forward(const Pass& pass, Saved& saved, const TensorView& x) {
  const Shape out = output_shape(x.shape());
  saved.owned.push_back(Tensor::empty(out, x.dtype(), x.device(), pass.stream));
  const TensorView y = saved.owned.back().view();
  kernels::conv_forward(x, entry_view(pass.weights, weight_), y, params_, *pass.stream);
  if (pass.training) saved.views.push_back(x);
  return y;
}

Tensor Conv2d::backward(const Pass& pass, Saved& saved, const TensorView& dy,
                        bool need_input_grad) {
  AUGUR_CHECK(saved.views.size() == 1, name(), ": backward without a training forward");
  const TensorView& x = saved.views[0];
  kernels::conv_backward_filter(x, dy, entry_view(pass.grads, weight_), params_, *pass.stream);
  if (!need_input_grad) return Tensor();
  Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device(), pass.stream);
  kernels::conv_backward_data(dy, entry_view(pass.weights, weight_), dx, params_, *pass.stream);
  return dx;
}

}  // namespace augur
