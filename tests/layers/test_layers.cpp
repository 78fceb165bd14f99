#include <catch2/catch.hpp>

#include "layers/batchnorm2d.h"
#include "layers/conv2d.h"
#include "layers/linear.h"
#include "layers/residual_blocks.h"
#include "layers/sequential.h"
#include "layers/simple_layers.h"
#include "tests/layers/layer_check.h"

using namespace augur;
using namespace augur::test;
using kernels::BnActivation;

namespace {
void expect_gradients_ok(Layer& layer, const Shape& input, LayerCheckOptions opt = {}) {
  INFO(layer.name() << " on " << input.str());
  const LayerCheckResult r = check_layer_gradients(layer, input, opt);
  AUGUR_CHECK_GRADIENT(r.input);
  AUGUR_CHECK_GRADIENT(r.params);
}
// BN's gamma near 1 keeps the check well conditioned; other parameters stay random.
void bn_friendly(const ArenaLayout& layout, std::vector<double>& w) {
  for (const auto& e : layout.entries())
    if (e.norm_or_bias && e.name.find("fc.") == std::string::npos)
      for (int64_t i = 0; i < e.numel(); ++i)
        w[e.offset + i] =
            (e.name.find(".weight") != std::string::npos ? 1.0 : 0.0) + 0.25 * w[e.offset + i];
}
}  // namespace

TEST_CASE("Conv2d backward passes the gradient check", "[layers]") {
  Conv2d a("conv", 3, 4, 3, 1, 1);
  expect_gradients_ok(a, Shape::nhwc(2, 5, 5, 3));
  Conv2d b("conv_s2", 5, 3, 3, 2, 1);
  expect_gradients_ok(b, Shape::nhwc(1, 7, 7, 5));
  Conv2d c("conv_1x1_s2", 4, 6, 1, 2, 0);
  expect_gradients_ok(c, Shape::nhwc(2, 6, 6, 4));
}

TEST_CASE("BatchNorm2d backward passes the gradient check, fused or not", "[layers]") {
  LayerCheckOptions opt;
  opt.init_params = bn_friendly;
  BatchNorm2d plain("bn", 3, BnActivation::None);
  expect_gradients_ok(plain, Shape::nhwc(2, 3, 3, 3), opt);
  BatchNorm2d relu("bn_relu", 5, BnActivation::Relu);
  expect_gradients_ok(relu, Shape::nhwc(3, 2, 2, 5), opt);
  opt.bn_stats = BnStatsMode::Deferred;
  expect_gradients_ok(relu, Shape::nhwc(3, 2, 2, 5), opt);
}

TEST_CASE("parameter-free layers pass the gradient check", "[layers]") {
  ReLU relu("relu");
  expect_gradients_ok(relu, Shape::nhwc(2, 3, 3, 2));
  MaxPool2d pool("maxpool", 3, 2, 1);
  expect_gradients_ok(pool, Shape::nhwc(2, 7, 7, 3));
  GlobalAvgPool gap("avgpool");
  expect_gradients_ok(gap, Shape::nhwc(2, 3, 3, 4));
}

TEST_CASE("Linear backward passes the gradient check", "[layers]") {
  Linear fc("fc", 6, 4);
  expect_gradients_ok(fc, Shape{3, 6});
}

TEST_CASE("residual blocks pass the gradient check", "[layers]") {
  LayerCheckOptions opt;
  opt.init_params = bn_friendly;
  opt.max_coordinates = 40;
  auto basic = ResidualBlock::basic("layer1.0", 4, 4, 1);
  CHECK_FALSE(basic->has_downsample());
  expect_gradients_ok(*basic, Shape::nhwc(2, 4, 4, 4), opt);
  auto basic_ds = ResidualBlock::basic("layer2.0", 3, 5, 2);
  CHECK(basic_ds->has_downsample());
  expect_gradients_ok(*basic_ds, Shape::nhwc(2, 5, 5, 3), opt);
  auto bottleneck = ResidualBlock::bottleneck("layer3.0", 4, 2, 8, 2);
  expect_gradients_ok(*bottleneck, Shape::nhwc(2, 4, 4, 4), opt);
}

TEST_CASE("Sequential chains layers and their gradients", "[layers]") {
  LayerCheckOptions opt;
  opt.init_params = bn_friendly;
  Sequential seq("stem");
  seq.add(std::make_unique<Conv2d>("conv1", 2, 3, 3, 1, 1));
  seq.add(std::make_unique<BatchNorm2d>("bn1", 3, BnActivation::Relu));
  seq.add(std::make_unique<MaxPool2d>("maxpool", 3, 2, 1));
  seq.add(std::make_unique<GlobalAvgPool>("avgpool"));
  seq.add(std::make_unique<Linear>("fc", 3, 2));
  CHECK(seq.output_shape(Shape::nhwc(2, 6, 6, 2)) == Shape{2, 2});
  expect_gradients_ok(seq, Shape::nhwc(2, 6, 6, 2), opt);
}

TEST_CASE("layers reject bad shapes naming the layer", "[layers]") {
  Conv2d conv("layer1.0.conv1", 3, 4, 3, 1, 1);
  ArenaLayout p, s;
  conv.declare(p, s);
  CHECK_THROWS_WITH(conv.output_shape(Shape::nhwc(1, 5, 5, 2)),
                    Catch::Contains("layer1.0.conv1") && Catch::Contains("3 channels") &&
                        Catch::Contains("[1, 5, 5, 2]"));
  Linear fc("fc", 8, 2);
  CHECK_THROWS_WITH(fc.output_shape(Shape{2, 7}),
                    Catch::Contains("fc") && Catch::Contains("[2, 7]"));
  BatchNorm2d bn("bn1", 4);
  CHECK_THROWS_WITH(bn.output_shape(Shape::nhwc(1, 2, 2, 3)), Catch::Contains("bn1"));
  CHECK_THROWS_WITH(Conv2d("bad", 0, 4, 3, 1, 1), Catch::Contains("bad"));
}
