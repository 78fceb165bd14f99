#include "bench/pass_through.h"

#include <memory>
#include <string>

#include "layers/sequential.h"

namespace augur::bench {

namespace {

// y = x with one parameter whose gradient is 1: the least a layer can do while still owning
// its output and producing a gradient.
class PassThrough : public Layer {
 public:
  explicit PassThrough(std::string name) : Layer(std::move(name)) {}
  void declare(ArenaLayout& params, ArenaLayout&) override {
    w_ = params[params.add(name() + ".weight", Shape{1})];
  }
  Shape output_shape(const Shape& in) const override { return in; }
  TensorView forward(const Pass& pass, Saved& saved, const TensorView& x) override {
    saved.owned.push_back(Tensor::empty(x.shape(), x.dtype(), x.device(), pass.stream));
    copy(saved.owned.back(), x, *pass.stream);
    return saved.owned.back().view();
  }
  Tensor backward(const Pass& pass, Saved&, const TensorView& dy, bool need) override {
    entry_view(pass.grads, w_).data<float>()[0] += 1.0f;
    if (!need) return Tensor();
    Tensor dx = Tensor::empty(dy.shape(), dy.dtype(), dy.device(), pass.stream);
    copy(dx, dy, *pass.stream);
    return dx;
  }

 private:
  ArenaEntry w_;
};

}  // namespace

std::vector<StageModel> pass_through_stages(int K) {
  std::vector<StageModel> out;
  for (int r = 0; r < K; ++r) {
    StageModel m;
    m.net.net = std::make_unique<Sequential>("stage" + std::to_string(r));
    m.net.net->add(std::make_unique<PassThrough>("p" + std::to_string(r)));
    m.net.net->declare(m.net.params, m.net.state);
    m.device = Device::cpu();
    m.weights.assign(static_cast<size_t>(m.net.params.size()), 1.0f);
    out.push_back(std::move(m));
  }
  return out;
}

MicroBatchSource pass_through_source() {
  // Never written: views of them are only read.
  static float image = 0.5f;
  static int64_t label = 0;
  return [](int) {
    MicroBatch m;
    m.images = TensorView(&image, DType::F32, Device::cpu(), Shape{1, 1});
    m.labels = TensorView(&label, DType::I64, Device::cpu(), Shape{1});
    return m;
  };
}

}  // namespace augur::bench
