#include "layers/residual_blocks.h"

#include "kernels/elementwise.h"

namespace augur {

using kernels::BnActivation;

namespace {
void add_downsample(const std::string& prefix, int in, int out, int stride,
                    std::unique_ptr<Conv2d>* conv, std::unique_ptr<BatchNorm2d>* bn) {
  if (stride == 1 && in == out) return;
  *conv = std::make_unique<Conv2d>(prefix + ".downsample.0", in, out, 1, stride, 0);
  *bn = std::make_unique<BatchNorm2d>(prefix + ".downsample.1", out, BnActivation::None);
}
}  // namespace

std::unique_ptr<ResidualBlock> ResidualBlock::basic(const std::string& prefix, int in, int out,
                                                    int stride) {
  std::unique_ptr<ResidualBlock> b(new ResidualBlock(prefix));
  b->convs_.push_back(std::make_unique<Conv2d>(prefix + ".conv1", in, out, 3, stride, 1));
  b->bns_.push_back(std::make_unique<BatchNorm2d>(prefix + ".bn1", out, BnActivation::Relu));
  b->convs_.push_back(std::make_unique<Conv2d>(prefix + ".conv2", out, out, 3, 1, 1));
  b->bns_.push_back(std::make_unique<BatchNorm2d>(prefix + ".bn2", out, BnActivation::Relu));
  add_downsample(prefix, in, out, stride, &b->ds_conv_, &b->ds_bn_);
  return b;
}

std::unique_ptr<ResidualBlock> ResidualBlock::bottleneck(const std::string& prefix, int in, int mid,
                                                         int out, int stride) {
  std::unique_ptr<ResidualBlock> b(new ResidualBlock(prefix));
  b->convs_.push_back(std::make_unique<Conv2d>(prefix + ".conv1", in, mid, 1, 1, 0));
  b->bns_.push_back(std::make_unique<BatchNorm2d>(prefix + ".bn1", mid, BnActivation::Relu));
  b->convs_.push_back(std::make_unique<Conv2d>(prefix + ".conv2", mid, mid, 3, stride, 1));
  b->bns_.push_back(std::make_unique<BatchNorm2d>(prefix + ".bn2", mid, BnActivation::Relu));
  b->convs_.push_back(std::make_unique<Conv2d>(prefix + ".conv3", mid, out, 1, 1, 0));
  b->bns_.push_back(std::make_unique<BatchNorm2d>(prefix + ".bn3", out, BnActivation::Relu));
  add_downsample(prefix, in, out, stride, &b->ds_conv_, &b->ds_bn_);
  return b;
}

void ResidualBlock::declare(ArenaLayout& params, ArenaLayout& state) {
  // torchvision's order: conv1, bn1, conv2, bn2, [conv3, bn3], downsample.
  for (size_t i = 0; i < convs_.size(); ++i) {
    convs_[i]->declare(params, state);
    bns_[i]->declare(params, state);
  }
  if (ds_conv_) {
    ds_conv_->declare(params, state);
    ds_bn_->declare(params, state);
  }
}

Shape ResidualBlock::output_shape(const Shape& input) const {
  Shape s = input;
  for (const auto& c : convs_) s = c->output_shape(s);
  if (!ds_conv_)
    AUGUR_ARG_CHECK(s == input, name(), ": identity shortcut needs matching shapes, got ",
                    input.str(), " -> ", s.str());
  return s;
}

// Saved layout: children [conv_i, bn_i]... then [ds_conv, ds_bn] when present.
TensorView ResidualBlock::forward(const Pass& pass, Saved& saved, const TensorView& x) {
  output_shape(x.shape());
  const size_t n = convs_.size();
  saved.children.resize(2 * n + (ds_conv_ ? 2 : 0));
  TensorView shortcut = x;
  if (ds_conv_) {
    const TensorView d = ds_conv_->forward(pass, saved.children[2 * n], x);
    shortcut = ds_bn_->forward(pass, saved.children[2 * n + 1], d);
  }
  TensorView h = x;
  for (size_t i = 0; i < n; ++i) {
    h = convs_[i]->forward(pass, saved.children[2 * i], h);
    if (i + 1 < n)
      h = bns_[i]->forward(pass, saved.children[2 * i + 1], h);
    else
      h = bns_[i]->forward_fused(pass, saved.children[2 * i + 1], h, shortcut);
  }
  return h;
}

Tensor ResidualBlock::backward(const Pass& pass, Saved& saved, const TensorView& dy,
                               bool need_input_grad) {
  const size_t n = convs_.size();
  AUGUR_CHECK(saved.children.size() == 2 * n + (ds_conv_ ? 2 : 0), name(),
              ": backward without a forward");
  Tensor dshortcut;
  Tensor g = bns_[n - 1]->backward_fused(pass, saved.children[2 * n - 1], dy, true, &dshortcut);
  for (size_t i = n; i-- > 0;) {
    const bool need = i > 0 || need_input_grad;
    g = convs_[i]->backward(pass, saved.children[2 * i], g, need);
    if (i > 0) g = bns_[i - 1]->backward(pass, saved.children[2 * i - 1], g, true);
  }
  if (ds_conv_) {
    Tensor gd = ds_bn_->backward(pass, saved.children[2 * n + 1], dshortcut, true);
    gd = ds_conv_->backward(pass, saved.children[2 * n], gd, need_input_grad);
    dshortcut = std::move(gd);
  }
  if (!need_input_grad) return Tensor();
  // The block input fans out to both paths: their gradients add.
  kernels::accumulate(dshortcut, g, *pass.stream);
  return g;
}

void ResidualBlock::finish_minibatch(const Pass& pass) {
  for (auto& bn : bns_) bn->finish_minibatch(pass);
  if (ds_bn_) ds_bn_->finish_minibatch(pass);
}

}  // namespace augur
