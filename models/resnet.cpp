#include "models/resnet.h"

#include <cmath>

#include "layers/batchnorm2d.h"
#include "layers/conv2d.h"
#include "layers/linear.h"
#include "layers/residual_blocks.h"
#include "layers/simple_layers.h"
#include "layers/softmax_cross_entropy.h"
#include "runtime/random.h"

namespace augur {

std::unique_ptr<Layer> build_unit(const UnitSpec& u) {
  switch (u.kind) {
    case UnitKind::Stem: {
      auto seq = std::make_unique<Sequential>(u.name);
      const ConvSpec& c = u.convs.at(0);
      seq->add(std::make_unique<Conv2d>(c.prefix, c.in_channels, c.out_channels, c.kernel, c.stride,
                                        c.padding));
      seq->add(std::make_unique<BatchNorm2d>("bn1", c.out_channels, kernels::BnActivation::Relu));
      if (u.stem_maxpool) seq->add(std::make_unique<MaxPool2d>("maxpool", 3, 2, 1));
      return seq;
    }
    case UnitKind::Block:
      if (u.block == BlockKind::Basic)
        return ResidualBlock::basic(u.name, u.in_channels, u.out_channels, u.stride);
      return ResidualBlock::bottleneck(u.name, u.in_channels, u.mid_channels, u.out_channels,
                                       u.stride);
    case UnitKind::Head: {
      auto seq = std::make_unique<Sequential>(u.name);
      seq->add(std::make_unique<GlobalAvgPool>("avgpool"));
      seq->add(std::make_unique<Linear>("fc", u.in_channels, u.out_channels));
      return seq;
    }
  }
  throw Error("unknown unit kind");
}

StageNet build_stage(const ModelSpec& spec, size_t first_unit, size_t end_unit) {
  AUGUR_ARG_CHECK(first_unit < end_unit && end_unit <= spec.units.size(), spec.name,
                  ": invalid unit range [", first_unit, ", ", end_unit, ") of ", spec.units.size(),
                  " units");
  StageNet st;
  st.spec = spec;
  st.first_unit = first_unit;
  st.end_unit = end_unit;
  st.net = std::make_unique<Sequential>(spec.name + "[" + std::to_string(first_unit) + ":" +
                                        std::to_string(end_unit) + "]");
  for (size_t i = first_unit; i < end_unit; ++i) st.net->add(build_unit(spec.units[i]));
  st.net->declare(st.params, st.state);
  return st;
}

std::vector<int64_t> pytorch_shape(const ArenaEntry& e) {
  if (e.shape.rank() == 4) return {e.shape[0], e.shape[3], e.shape[1], e.shape[2]};
  return std::vector<int64_t>(e.shape.begin(), e.shape.end());
}

void oihw_to_krsc(const float* src, float* dst, int64_t k, int64_t c, int64_t r, int64_t s) {
  for (int64_t ki = 0; ki < k; ++ki)
    for (int64_t ci = 0; ci < c; ++ci)
      for (int64_t ri = 0; ri < r; ++ri)
        for (int64_t si = 0; si < s; ++si)
          dst[((ki * r + ri) * s + si) * c + ci] = src[((ki * c + ci) * r + ri) * s + si];
}

void krsc_to_oihw(const float* src, float* dst, int64_t k, int64_t r, int64_t s, int64_t c) {
  for (int64_t ki = 0; ki < k; ++ki)
    for (int64_t ri = 0; ri < r; ++ri)
      for (int64_t si = 0; si < s; ++si)
        for (int64_t ci = 0; ci < c; ++ci)
          dst[((ki * c + ci) * r + ri) * s + si] = src[((ki * r + ri) * s + si) * c + ci];
}

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

LossPass forward_backward(const StageNet& model, const Pass& pass, Saved& saved,
                          const TensorView& images, const TensorView& labels,
                          double label_smoothing) {
  LossPass out;
  out.logits = model.net->forward(pass, saved, images);
  Tensor dlogits;
  out.loss = SoftmaxCrossEntropy(label_smoothing)
                 .forward_backward(out.logits, labels, &dlogits, *pass.stream);
  (void)model.net->backward(pass, saved, dlogits, false);
  return out;
}

void initialize_stage(const StageNet& stage, uint64_t seed, std::vector<float>* weights,
                      std::vector<float>* state) {
  weights->assign(static_cast<size_t>(stage.params.size()), 0.f);
  state->assign(static_cast<size_t>(stage.state.size()), 0.f);
  for (const ArenaEntry& e : stage.params.entries()) {
    float* p = weights->data() + e.offset;
    Random rng = Random::for_name(seed, e.name);
    if (e.shape.rank() == 4) {
      // kaiming_normal_(mode="fan_out", nonlinearity="relu"): std = sqrt(2 / fan_out).
      const double fan_out = double(e.shape[0]) * e.shape[1] * e.shape[2];
      const double std = std::sqrt(2.0 / fan_out);
      for (int64_t i = 0; i < e.numel(); ++i) p[i] = static_cast<float>(std * rng.normal());
    } else if (e.norm_or_bias && !ends_with(e.name, "fc.bias")) {
      const float v = ends_with(e.name, ".weight") ? 1.f : 0.f;  // BN gamma 1, beta 0
      for (int64_t i = 0; i < e.numel(); ++i) p[i] = v;
    } else {
      // nn.Linear's default: weight kaiming_uniform(a=sqrt(5)) and bias, both bounded by
      // 1/sqrt(fan_in).
      const int64_t fan_in =
          ends_with(e.name, ".bias")
              ? stage.params.find(e.name.substr(0, e.name.size() - 5) + ".weight").shape[1]
              : e.shape[1];
      const double bound = 1.0 / std::sqrt(double(fan_in));
      for (int64_t i = 0; i < e.numel(); ++i) p[i] = static_cast<float>(rng.uniform(-bound, bound));
    }
  }
  for (const ArenaEntry& e : stage.state.entries()) {
    float* p = state->data() + e.offset;
    const float v = ends_with(e.name, ".running_var") ? 1.f : 0.f;
    for (int64_t i = 0; i < e.numel(); ++i) p[i] = v;
  }
}

}  // namespace augur
