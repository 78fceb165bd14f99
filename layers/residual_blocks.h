// ResNet's residual blocks, torchvision v1.5: the stride sits on the 3x3 conv of a
// bottleneck; the shortcut is the identity, or a 1x1 conv + BN (downsample) when the shape
// changes. The last BN of the main path is fused with the residual add and the ReLU.
#pragma once

#include <memory>

#include "layers/batchnorm2d.h"
#include "layers/conv2d.h"

namespace augur {

class ResidualBlock : public Layer {
 public:
  // `prefix`: the torchvision name ("layer2.0"). Basic: two 3x3 convs (mid = out).
  // Bottleneck: 1x1 (in -> mid), 3x3 (stride), 1x1 (mid -> out = 4 mid).
  static std::unique_ptr<ResidualBlock> basic(const std::string& prefix, int in, int out,
                                              int stride);
  static std::unique_ptr<ResidualBlock> bottleneck(const std::string& prefix, int in, int mid,
                                                   int out, int stride);

  void declare(ArenaLayout& params, ArenaLayout& state) override;
  Shape output_shape(const Shape& input) const override;
  TensorView forward(const Pass& pass, Saved& saved, const TensorView& x) override;
  Tensor backward(const Pass& pass, Saved& saved, const TensorView& dy,
                  bool need_input_grad) override;
  void finish_minibatch(const Pass& pass) override;

  bool has_downsample() const { return ds_conv_ != nullptr; }

 private:
  explicit ResidualBlock(const std::string& prefix) : Layer(prefix) {}
  // Main path: conv_i followed by bn_i; all but the last BN apply ReLU.
  std::vector<std::unique_ptr<Conv2d>> convs_;
  std::vector<std::unique_ptr<BatchNorm2d>> bns_;
  std::unique_ptr<Conv2d> ds_conv_;
  std::unique_ptr<BatchNorm2d> ds_bn_;
};

}  // namespace augur
