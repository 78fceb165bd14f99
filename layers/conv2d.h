// Conv2d without bias (every ResNet conv is followed by BatchNorm). Weights are stored KRSC
// in the arena; import and export convert from and to PyTorch's OIHW.
#pragma once

#include "kernels/conv.h"
#include "layers/layer.h"

namespace augur {

class Conv2d : public Layer {
 public:
  Conv2d(std::string name, int in_channels, int out_channels, int kernel, int stride, int padding);

  void declare(ArenaLayout& params, ArenaLayout& state) override;
  Shape output_shape(const Shape& input) const override;
  TensorView forward(const Pass& pass, Saved& saved, const TensorView& x) override;
  Tensor backward(const Pass& pass, Saved& saved, const TensorView& dy,
                  bool need_input_grad) override;

  const ArenaEntry& weight() const { return weight_; }
  int in_channels() const { return in_; }
  int out_channels() const { return out_; }
  int kernel() const { return kernel_; }
  const kernels::ConvParams& params() const { return params_; }

 private:
  int in_, out_, kernel_;
  kernels::ConvParams params_;
  ArenaEntry weight_;
};

}  // namespace augur
