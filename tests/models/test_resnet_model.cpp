#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>

#include "models/resnet.h"
#include "models/state_dict.h"
#include "tests/support/random.h"

using namespace augur;
using namespace augur::test;

namespace {

struct Run {
  float loss = 0;
  std::vector<float> logits;
  std::vector<float> grads;
};

// One training forward/backward of a stage on host data (CPU).
Run train_step(const StageNet& net, std::vector<float>& w, std::vector<float>& st,
               std::vector<float>& x, Shape xs, std::vector<int64_t>& labels) {
  const Stream s = Stream::cpu();
  const Device cpu = Device::cpu();
  Run r;
  r.grads.assign(w.size(), 0.f);
  Pass pass;
  pass.stream = &s;
  pass.weights = TensorView(w.data(), DType::F32, cpu, Shape{net.params.size()});
  pass.grads = TensorView(r.grads.data(), DType::F32, cpu, Shape{net.params.size()});
  pass.state = TensorView(st.data(), DType::F32, cpu, Shape{net.state.size()});
  Saved saved;
  const TensorView lab(labels.data(), DType::I64, cpu, Shape{int64_t(labels.size())});
  const LossPass out =
      forward_backward(net, pass, saved, TensorView(x.data(), DType::F32, cpu, xs), lab);
  const float* pl = out.logits.data<float>();
  r.logits.assign(pl, pl + out.logits.numel());
  r.loss = out.loss.data<float>()[0];
  return r;
}

bool all_finite(const std::vector<float>& v) {
  for (float f : v)
    if (!std::isfinite(f)) return false;
  return true;
}

}  // namespace

TEST_CASE("every model runs forward and backward on CPU with finite results", "[models]") {
  for (const std::string& name : resnet_names()) {
    const bool cifar = name == "resnet20" || name == "resnet32" || name == "resnet44" ||
                       name == "resnet56" || name == "resnet110";
    if (name == "resnet152" || name == "resnet101" || name == "resnet110") continue;  // time
    const int size = cifar ? 8 : 32;
    const ModelSpec spec = resnet_spec(name, {5, 2, size});
    const StageNet net = build_model(spec);
    CHECK(net.params.parameter_count() == spec.parameter_count());
    std::vector<float> w, st;
    initialize_stage(net, 1, &w, &st);
    std::vector<float> x = random_floats(size_t(2) * size * size * 2, 3);
    std::vector<int64_t> labels = {1, 4};
    INFO(name);
    const Run r = train_step(net, w, st, x, Shape::nhwc(2, size, size, 2), labels);
    CHECK(std::isfinite(r.loss));
    CHECK(r.logits.size() == 10);
    CHECK(all_finite(r.grads));
  }
}

TEST_CASE("the loss decreases over a few gradient steps on a fixed batch", "[models]") {
  for (const char* name : {"resnet20", "resnet18"}) {
    INFO(name);
    const bool cifar = std::string(name) == "resnet20";
    const int size = cifar ? 8 : 32;
    const StageNet net = build_model(resnet_spec(name, {4, 3, size}));
    std::vector<float> w, st;
    initialize_stage(net, 7, &w, &st);
    std::vector<float> x = random_floats(size_t(4) * size * size * 3, 9);
    std::vector<int64_t> labels = {0, 1, 2, 3};
    std::vector<float> losses;
    for (int step = 0; step < 5; ++step) {
      const Run r = train_step(net, w, st, x, Shape::nhwc(4, size, size, 3), labels);
      losses.push_back(r.loss);
      for (size_t i = 0; i < w.size(); ++i) w[i] -= 0.05f * r.grads[i];
    }
    CHECK(losses.back() < losses.front() * 0.9f);
  }
}

TEST_CASE("a stage split computes what the whole model computes", "[models]") {
  const ModelSpec spec = resnet_spec("resnet20", {10, 1, 8});
  const StageNet whole = build_model(spec);
  const StageNet first = build_stage(spec, 0, 4), second = build_stage(spec, 4, spec.units.size());
  std::vector<float> w, st, w1, st1, w2, st2;
  initialize_stage(whole, 5, &w, &st);
  initialize_stage(first, 5, &w1, &st1);
  initialize_stage(second, 5, &w2, &st2);
  // A parameter's initial value does not depend on the split.
  for (const auto& e : first.params.entries())
    CHECK(std::equal(w1.begin() + e.offset, w1.begin() + e.offset + e.numel(),
                     w.begin() + whole.params.find(e.name).offset));

  const Stream s = Stream::cpu();
  const Device cpu = Device::cpu();
  std::vector<float> x = random_floats(2 * 8 * 8, 4);
  auto pass_for = [&](const StageNet& n, std::vector<float>& ww, std::vector<float>& ss) {
    Pass p;
    p.stream = &s;
    p.weights = TensorView(ww.data(), DType::F32, cpu, Shape{n.params.size()});
    p.state = TensorView(ss.data(), DType::F32, cpu, Shape{n.state.size()});
    p.training = false;
    return p;
  };
  Saved a, b, c;
  const TensorView xv(x.data(), DType::F32, cpu, Shape::nhwc(2, 8, 8, 1));
  const TensorView y_whole = whole.net->forward(pass_for(whole, w, st), a, xv);
  const TensorView h = first.net->forward(pass_for(first, w1, st1), b, xv);
  const TensorView y_split = second.net->forward(pass_for(second, w2, st2), c, h);
  REQUIRE(y_whole.numel() == y_split.numel());
  for (int64_t i = 0; i < y_whole.numel(); ++i)
    CHECK(y_whole.data<float>()[i] == y_split.data<float>()[i]);
}

TEST_CASE("initialisation follows torchvision and a seed fixes the model", "[models]") {
  const StageNet net = build_model(resnet_spec("resnet18", {10, 3, 32}));
  std::vector<float> w, st, w2, st2;
  initialize_stage(net, 3, &w, &st);
  initialize_stage(net, 3, &w2, &st2);
  CHECK(w == w2);
  initialize_stage(net, 4, &w2, &st2);
  CHECK(w != w2);
  // layer4.0.conv2: 512 x 3 x 3 x 512 normal values, std sqrt(2 / (512*9)). The sample
  // standard deviation of n normals has relative spread 1/sqrt(2n) = 0.1%; allow 5 of those.
  const ArenaEntry& e = net.params.find("layer4.0.conv2.weight");
  double sum2 = 0;
  for (int64_t i = 0; i < e.numel(); ++i) sum2 += double(w[e.offset + i]) * w[e.offset + i];
  const double expected = std::sqrt(2.0 / (512 * 9));
  CHECK(std::sqrt(sum2 / e.numel()) == Approx(expected).epsilon(5.0 / std::sqrt(2.0 * e.numel())));
  const ArenaEntry& fc = net.params.find("fc.weight");
  for (int64_t i = 0; i < fc.numel(); ++i)
    REQUIRE(std::fabs(w[fc.offset + i]) <= 1 / std::sqrt(512.0));
  CHECK(w[net.params.find("bn1.weight").offset] == 1.f);
  CHECK(w[net.params.find("bn1.bias").offset] == 0.f);
  CHECK(st[net.state.find("bn1.running_var").offset] == 1.f);
}

TEST_CASE("state dicts round-trip and bad ones name each offending key", "[models]") {
  const StageNet net = build_model(resnet_spec("resnet20", {10, 3, 32}));
  std::vector<float> w, st;
  initialize_stage(net, 11, &w, &st);
  st[net.state.find("layer1.0.bn1.num_batches_tracked").offset] = 17;
  SafetensorsWriter out;
  export_parameters(net, w, &out);
  export_buffers(net, st, &out);
  const SafetensorsFile f = SafetensorsFile::parse(out.serialize(), "sd.safetensors");
  CHECK(f.entry("conv1.weight").shape == std::vector<int64_t>{16, 3, 3, 3});
  CHECK(f.entry("layer1.0.bn1.num_batches_tracked").dtype == "I64");
  CHECK_FALSE(f.contains("layer1.0.bn1.deferred_stats"));
  std::vector<float> w2, st2;
  import_state_dict(net, f, &w2, &st2);
  CHECK(w2 == w);
  for (const auto& e : net.state.entries())
    if (e.exported)
      for (int64_t i = 0; i < e.numel(); ++i) REQUIRE(st2[e.offset + i] == st[e.offset + i]);

  // DataParallel's "module." prefix, and a corrupted copy.
  SafetensorsWriter prefixed, bad;
  for (const auto& [name, entry] : f.entries()) {
    prefixed.add("module." + name, entry.dtype, entry.shape, f.data(name), entry.bytes());
    if (name == "layer2.0.conv1.weight" || name == "fc.bias") continue;  // missing
    if (name == "conv1.weight") {
      bad.add(name, entry.dtype, {16, 3, 9}, f.data(name), entry.bytes());  // mis-shaped
    } else if (name == "bn1.running_mean") {
      std::vector<double> d(16, 0.0);
      bad.add(name, "F64", {16}, d.data(), d.size() * 8);  // wrong dtype
    } else {
      bad.add(name, entry.dtype, entry.shape, f.data(name), entry.bytes());
    }
  }
  const float extra = 1.f;
  bad.add("fc.extra", "F32", {1}, &extra, 4);
  import_state_dict(net, SafetensorsFile::parse(prefixed.serialize(), "p"), &w2, &st2);
  CHECK(w2 == w);
  CHECK_THROWS_WITH(
      import_state_dict(net, SafetensorsFile::parse(bad.serialize(), "bad.safetensors"), &w2, &st2),
      Catch::Contains("bad.safetensors") && Catch::Contains("5 problems") &&
          Catch::Contains("missing 'layer2.0.conv1.weight'") &&
          Catch::Contains("missing 'fc.bias'") &&
          Catch::Contains("'conv1.weight' has shape [16, 3, 9], expected [16, 3, 3, 3]") &&
          Catch::Contains("'bn1.running_mean' has dtype F64") &&
          Catch::Contains("unexpected 'fc.extra'"));
}
