// The parameter-free layers: ReLU, MaxPool2d (ResNet's stem pool) and GlobalAvgPool
// (ResNet's head, NHWC [N,H,W,C] -> [N,C]).
#pragma once

#include "kernels/pool.h"
#include "layers/layer.h"

namespace augur {

class ReLU : public Layer {
 public:
  explicit ReLU(std::string name) : Layer(std::move(name)) {}
  void declare(ArenaLayout&, ArenaLayout&) override {}
  Shape output_shape(const Shape& input) const override { return input; }
  TensorView forward(const Pass& pass, Saved& saved, const TensorView& x) override;
  Tensor backward(const Pass& pass, Saved& saved, const TensorView& dy,
                  bool need_input_grad) override;
};

class MaxPool2d : public Layer {
 public:
  MaxPool2d(std::string name, int kernel, int stride, int padding);
  void declare(ArenaLayout&, ArenaLayout&) override {}
  Shape output_shape(const Shape& input) const override;
  TensorView forward(const Pass& pass, Saved& saved, const TensorView& x) override;
  Tensor backward(const Pass& pass, Saved& saved, const TensorView& dy,
                  bool need_input_grad) override;

 private:
  kernels::MaxPoolParams params_;
};

class GlobalAvgPool : public Layer {
 public:
  explicit GlobalAvgPool(std::string name) : Layer(std::move(name)) {}
  void declare(ArenaLayout&, ArenaLayout&) override {}
  Shape output_shape(const Shape& input) const override;
  TensorView forward(const Pass& pass, Saved& saved, const TensorView& x) override;
  Tensor backward(const Pass& pass, Saved& saved, const TensorView& dy,
                  bool need_input_grad) override;
};

}  // namespace augur
