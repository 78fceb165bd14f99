#include "layers/simple_layers.h"

#include "kernels/elementwise.h"

namespace augur {

TensorView ReLU::forward(const Pass& pass, Saved& saved, const TensorView& x) {
  saved.owned.push_back(Tensor::empty(x.shape(), x.dtype(), x.device(), pass.stream));
  const TensorView y = saved.owned.back().view();
  kernels::relu_forward(x, y, *pass.stream);
  return y;  // backward reads the mask from the output, which `saved` owns
}

Tensor ReLU::backward(const Pass& pass, Saved& saved, const TensorView& dy, bool need_input_grad) {
  AUGUR_CHECK(saved.owned.size() == 1, name(), ": backward without a forward");
  if (!need_input_grad) return Tensor();
  const TensorView y = saved.owned[0].view();
  Tensor dx = Tensor::empty(y.shape(), y.dtype(), y.device(), pass.stream);
  kernels::relu_backward(y, dy, dx, *pass.stream);
  return dx;
}

MaxPool2d::MaxPool2d(std::string name, int kernel, int stride, int padding)
    : Layer(std::move(name)), params_(kernels::MaxPoolParams::square(kernel, stride, padding)) {}

Shape MaxPool2d::output_shape(const Shape& input) const {
  AUGUR_ARG_CHECK(input.rank() == 4, name(), ": expected an NHWC input, got ", input.str());
  return kernels::max_pool_output_shape(input, params_);
}

TensorView MaxPool2d::forward(const Pass& pass, Saved& saved, const TensorView& x) {
  const Shape out = output_shape(x.shape());
  saved.owned.push_back(Tensor::empty(out, x.dtype(), x.device(), pass.stream));
  saved.owned.push_back(Tensor::empty(out, DType::I32, x.device(), pass.stream));
  kernels::max_pool_forward(x, saved.owned[0], saved.owned[1], params_, *pass.stream);
  saved.views.push_back(x);
  return saved.owned[0].view();
}

Tensor MaxPool2d::backward(const Pass& pass, Saved& saved, const TensorView& dy,
                           bool need_input_grad) {
  AUGUR_CHECK(saved.owned.size() == 2 && saved.views.size() == 1, name(),
              ": backward without a forward");
  if (!need_input_grad) return Tensor();
  const TensorView& x = saved.views[0];
  Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device(), pass.stream);
  kernels::max_pool_backward(dy, saved.owned[1], dx, params_, *pass.stream);
  return dx;
}

Shape GlobalAvgPool::output_shape(const Shape& input) const {
  AUGUR_ARG_CHECK(input.rank() == 4, name(), ": expected an NHWC input, got ", input.str());
  return Shape{input[0], input[3]};
}

TensorView GlobalAvgPool::forward(const Pass& pass, Saved& saved, const TensorView& x) {
  saved.owned.push_back(Tensor::empty(output_shape(x.shape()), x.dtype(), x.device(), pass.stream));
  kernels::global_avg_pool_forward(x, saved.owned[0], *pass.stream);
  saved.views.push_back(x);
  return saved.owned[0].view();
}

Tensor GlobalAvgPool::backward(const Pass& pass, Saved& saved, const TensorView& dy,
                               bool need_input_grad) {
  AUGUR_CHECK(saved.views.size() == 1, name(), ": backward without a forward");
  if (!need_input_grad) return Tensor();
  const TensorView& x = saved.views[0];
  Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device(), pass.stream);
  kernels::global_avg_pool_backward(dy, dx, *pass.stream);
  return dx;
}

}  // namespace augur
