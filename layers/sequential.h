// Layers run one after another. Each child's output is owned by its own Saved, so the
// next child can keep a view of its input until backward.
#pragma once

#include <memory>
#include <vector>

#include "layers/layer.h"

namespace augur {

class Sequential : public Layer {
 public:
  explicit Sequential(std::string name) : Layer(std::move(name)) {}
  Sequential& add(std::unique_ptr<Layer> layer);

  void declare(ArenaLayout& params, ArenaLayout& state) override;
  Shape output_shape(const Shape& input) const override;
  TensorView forward(const Pass& pass, Saved& saved, const TensorView& x) override;
  Tensor backward(const Pass& pass, Saved& saved, const TensorView& dy,
                  bool need_input_grad) override;
  void finish_minibatch(const Pass& pass) override;

  const std::vector<std::unique_ptr<Layer>>& layers() const { return layers_; }

 private:
  std::vector<std::unique_ptr<Layer>> layers_;
};

}  // namespace augur
