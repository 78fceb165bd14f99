#include "layers/sequential.h"

namespace augur {

Sequential& Sequential::add(std::unique_ptr<Layer> layer) {
  AUGUR_ARG_CHECK(layer != nullptr, name(), ": null layer");
  layers_.push_back(std::move(layer));
  return *this;
}

void Sequential::declare(ArenaLayout& params, ArenaLayout& state) {
  for (auto& l : layers_) l->declare(params, state);
}

Shape Sequential::output_shape(const Shape& input) const {
  Shape s = input;
  for (const auto& l : layers_) s = l->output_shape(s);
  return s;
}

TensorView Sequential::forward(const Pass& pass, Saved& saved, const TensorView& x) {
  saved.children.resize(layers_.size());
  TensorView h = x;
  for (size_t i = 0; i < layers_.size(); ++i) h = layers_[i]->forward(pass, saved.children[i], h);
  return h;
}

Tensor Sequential::backward(const Pass& pass, Saved& saved, const TensorView& dy,
                            bool need_input_grad) {
  AUGUR_CHECK(saved.children.size() == layers_.size(), name(), ": backward without a forward");
  Tensor g;
  TensorView grad = dy;
  for (size_t i = layers_.size(); i-- > 0;) {
    Tensor next = layers_[i]->backward(pass, saved.children[i], grad, i > 0 || need_input_grad);
    g = std::move(next);
    grad = g.view();
  }
  return g;
}

void Sequential::finish_minibatch(const Pass& pass) {
  for (auto& l : layers_) l->finish_minibatch(pass);
}

}  // namespace augur
