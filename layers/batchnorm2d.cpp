#include "layers/batchnorm2d.h"

#include "kernels/elementwise.h"

namespace augur {

BatchNorm2d::BatchNorm2d(std::string name, int channels, kernels::BnActivation act, double eps,
                         double momentum)
    : Layer(std::move(name)), channels_(channels), act_(act), eps_(eps), momentum_(momentum) {
  AUGUR_ARG_CHECK(channels > 0 && eps > 0 && momentum >= 0 && momentum <= 1, this->name(),
                  ": invalid BatchNorm2d (channels ", channels, ", eps ", eps, ", momentum ",
                  momentum, ")");
}

void BatchNorm2d::declare(ArenaLayout& params, ArenaLayout& state) {
  const Shape c{channels_};
  gamma_ = params[params.add(name() + ".weight", c, true)];
  beta_ = params[params.add(name() + ".bias", c, true)];
  running_mean_ = state[state.add(name() + ".running_mean", c)];
  running_var_ = state[state.add(name() + ".running_var", c)];
  batches_ = state[state.add(name() + ".num_batches_tracked", Shape{})];
  deferred_ = state[state.add(name() + ".deferred_stats", Shape{3, channels_}, false, false)];
}

Shape BatchNorm2d::output_shape(const Shape& input) const {
  AUGUR_ARG_CHECK(input.rank() == 4 && input[3] == channels_, name(),
                  ": expected an NHWC input with ", channels_, " channels, got ", input.str());
  return input;
}

TensorView BatchNorm2d::forward(const Pass& pass, Saved& saved, const TensorView& x) {
  return forward_fused(pass, saved, x, TensorView());
}

TensorView BatchNorm2d::forward_fused(const Pass& pass, Saved& saved, const TensorView& x,
                                      const TensorView& residual) {
  output_shape(x.shape());
  if (!residual.empty())
    AUGUR_ARG_CHECK(residual.shape() == x.shape(), name(), ": residual ", residual.shape().str(),
                    " does not match the input ", x.shape().str());
  const Stream& s = *pass.stream;
  const TensorView gamma = entry_view(pass.weights, gamma_);
  const TensorView beta = entry_view(pass.weights, beta_);
  saved.owned.push_back(Tensor::empty(x.shape(), x.dtype(), x.device(), &s));
  const TensorView y = saved.owned.back().view();
  if (!pass.training) {
    kernels::batchnorm_forward_infer(x, gamma, beta, entry_view(pass.state, running_mean_),
                                     entry_view(pass.state, running_var_), eps_, residual, act_, y,
                                     s);
    return y;
  }
  const int64_t count = x.numel() / channels_;
  AUGUR_ARG_CHECK(count > 1, name(), ": training needs more than one value per channel, got ",
                  x.shape().str());
  // The batch statistics are f32 when the activations are bf16 (as the running ones are).
  const DType stats = x.dtype() == DType::BF16 ? DType::F32 : x.dtype();
  saved.owned.push_back(Tensor::empty(Shape{channels_}, stats, x.device(), &s));
  saved.owned.push_back(Tensor::empty(Shape{channels_}, stats, x.device(), &s));
  const TensorView mean = saved.owned[1].view(), invstd = saved.owned[2].view();
  kernels::batchnorm_stats(x, mean, invstd, eps_, s);
  if (pass.bn_stats == BnStatsMode::Micro) {
    kernels::batchnorm_update_running(
        mean, invstd, eps_, count, pass.bn_momentum >= 0 ? pass.bn_momentum : momentum_,
        entry_view(pass.state, running_mean_), entry_view(pass.state, running_var_), s);
    kernels::add_scalar(entry_view(pass.state, batches_), 1.0, s);
  } else {
    kernels::batchnorm_accumulate_stats(mean, invstd, eps_, count,
                                        entry_view(pass.state, deferred_), s);
  }
  kernels::batchnorm_forward_train(x, gamma, beta, mean, invstd, residual, act_, y, s);
  saved.views.push_back(x);
  return y;
}

Tensor BatchNorm2d::backward(const Pass& pass, Saved& saved, const TensorView& dy,
                             bool need_input_grad) {
  return backward_fused(pass, saved, dy, need_input_grad, nullptr);
}

Tensor BatchNorm2d::backward_fused(const Pass& pass, Saved& saved, const TensorView& dy,
                                   bool need_input_grad, Tensor* dresidual) {
  AUGUR_CHECK(saved.views.size() == 1 && saved.owned.size() == 3, name(),
              ": backward without a training forward");
  const Stream& s = *pass.stream;
  const TensorView& x = saved.views[0];
  // The input gradient is always computed: BN's parameter gradients come out of the same
  // pass, and a stage never starts with BatchNorm.
  (void)need_input_grad;
  Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device(), &s);
  if (dresidual) *dresidual = Tensor::empty(x.shape(), x.dtype(), x.device(), &s);
  kernels::batchnorm_backward(x, saved.owned[0].view(), dy, entry_view(pass.weights, gamma_),
                              saved.owned[1].view(), saved.owned[2].view(), act_, dx,
                              entry_view(pass.grads, gamma_), entry_view(pass.grads, beta_),
                              dresidual ? dresidual->view() : TensorView(), s);
  return dx;
}

void BatchNorm2d::finish_minibatch(const Pass& pass) {
  if (pass.bn_stats != BnStatsMode::Deferred || !pass.training) return;
  const Stream& s = *pass.stream;
  kernels::batchnorm_apply_deferred(entry_view(pass.state, deferred_), momentum_,
                                    entry_view(pass.state, running_mean_),
                                    entry_view(pass.state, running_var_), s);
  kernels::add_scalar(entry_view(pass.state, batches_), 1.0, s);
}

}  // namespace augur
