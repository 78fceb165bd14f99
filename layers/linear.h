// Linear: y = x W^T + b with PyTorch's layout (W [out, in], b [out]); the ResNet classifier.
#pragma once

#include "layers/layer.h"

namespace augur {

class Linear : public Layer {
 public:
  Linear(std::string name, int in_features, int out_features);
  void declare(ArenaLayout& params, ArenaLayout& state) override;
  Shape output_shape(const Shape& input) const override;
  TensorView forward(const Pass& pass, Saved& saved, const TensorView& x) override;
  Tensor backward(const Pass& pass, Saved& saved, const TensorView& dy,
                  bool need_input_grad) override;

  const ArenaEntry& weight() const { return weight_; }
  const ArenaEntry& bias() const { return bias_; }
  int in_features() const { return in_; }
  int out_features() const { return out_; }

 private:
  int in_, out_;
  ArenaEntry weight_, bias_;
};

}  // namespace augur
