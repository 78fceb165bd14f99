// The layer interface. A layer reads its parameters by offset from whichever arena version
// a pass hands it (the current weights, a stashed or a predicted version), saves what its
// backward needs in a per-micro-batch context, and adds its parameter gradients into the
// stage's gradient arena. Many micro-batches can be in flight because nothing about a
// micro-batch lives in the layer itself.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "layers/arena.h"
#include "runtime/stream.h"
#include "runtime/tensor.h"

namespace augur {

// When BatchNorm's running statistics update (design, section 4): after every micro-batch,
// or once per mini-batch from the statistics accumulated over its micro-batches.
enum class BnStatsMode { Micro, Deferred };
// "micro|deferred"; anything else throws listing the choices.
BnStatsMode parse_bn_stats(const std::string& name);
const char* bn_stats_name(BnStatsMode mode);
const std::vector<std::string>& bn_stats_names();

// Everything a pass needs besides its input.
struct Pass {
  const Stream* stream = nullptr;
  TensorView weights;  // the parameter arena version to compute with
  TensorView grads;    // the gradient arena (backward adds into it)
  TensorView state;    // running statistics and other unversioned state
  bool training = true;
  BnStatsMode bn_stats = BnStatsMode::Micro;
  // >= 0: every BatchNorm's running-statistics momentum for this pass (the re-estimation of
  // Engine::recalibrate_batchnorm uses 1: the running statistics become the batch's).
  double bn_momentum = -1;

  // A training pass on `stream` over these arenas.
  static Pass train(const Stream& stream, const TensorView& weights, const TensorView& grads,
                    const TensorView& state, BnStatsMode bn = BnStatsMode::Micro) {
    return Pass{&stream, weights, grads, state, true, bn, -1};
  }
};

// What forward keeps for backward, one per layer per micro-batch. A layer's output and
// intermediates are owned here; views point at the layer's input, which the caller keeps
// alive (it is the previous layer's output, owned by that layer's Saved, or the stage input
// the engine holds) until backward has run.
struct Saved {
  std::vector<Tensor> owned;
  std::vector<TensorView> views;
  std::vector<Saved> children;  // for composite layers, one per child
  void clear() {
    owned.clear();
    views.clear();
    children.clear();
  }
};

class Layer {
 public:
  virtual ~Layer() = default;
  const std::string& name() const { return name_; }

  // Registers parameters and state; called once while the stage's arenas are laid out.
  virtual void declare(ArenaLayout& params, ArenaLayout& state) = 0;
  // Throws naming the layer when the input shape does not fit.
  virtual Shape output_shape(const Shape& input) const = 0;
  // Returns a view of the output, which `saved` owns.
  virtual TensorView forward(const Pass& pass, Saved& saved, const TensorView& x) = 0;
  // Returns dx (an empty tensor when `need_input_grad` is false) and adds the parameter
  // gradients into pass.grads.
  virtual Tensor backward(const Pass& pass, Saved& saved, const TensorView& dy,
                          bool need_input_grad) = 0;
  // With BnStatsMode::Deferred: folds the mini-batch's accumulated statistics into the
  // running statistics and resets the accumulators.
  virtual void finish_minibatch(const Pass& pass) { (void)pass; }

 protected:
  explicit Layer(std::string name) : name_(std::move(name)) {}

 private:
  std::string name_;
};

}  // namespace augur
