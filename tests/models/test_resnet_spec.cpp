#include <catch2/catch.hpp>

#include <set>

#include "models/resnet_spec.h"
#include "runtime/error.h"

using namespace augur;

TEST_CASE("parameter counts match torchvision's published counts", "[models]") {
  // torchvision.models docs, "num_params" (1000 classes, 3 input channels).
  CHECK(resnet_spec("resnet18").parameter_count() == 11689512);
  CHECK(resnet_spec("resnet34").parameter_count() == 21797672);
  CHECK(resnet_spec("resnet50").parameter_count() == 25557032);
  CHECK(resnet_spec("resnet101").parameter_count() == 44549160);
  CHECK(resnet_spec("resnet152").parameter_count() == 60192808);
}

TEST_CASE("CIFAR ResNets have He et al.'s shape with projection shortcuts", "[models]") {
  // Option A (zero-padding shortcuts) gives ResNet-20 269,722 parameters; option B adds
  // two 1x1 projections with BN: 16*32 + 2*32 + 32*64 + 2*64 = 2,752.
  const ResNetOptions cifar{10, 3, 32};
  CHECK(resnet_spec("resnet20", cifar).parameter_count() == 269722 + 2752);
  CHECK(resnet_spec("resnet32", cifar).parameter_count() == 466906);
  CHECK(resnet_spec("resnet44", cifar).parameter_count() == 661338);
  CHECK(resnet_spec("resnet56", cifar).parameter_count() == 855770);
  CHECK(resnet_spec("resnet110", cifar).parameter_count() == 1730714);
  // Fashion-MNIST: one input channel changes only the stem conv (16*3*9 -> 16*1*9).
  CHECK(resnet_spec("resnet20", {10, 1, 28}).parameter_count() == 272474 - 16 * 2 * 9);
}

TEST_CASE("ResNet-50 has 4.09 G multiply-adds at 224x224", "[models]") {
  const ModelSpec m = resnet_spec("resnet50");
  CHECK(m.macs() == Approx(4.09e9).epsilon(0.005));
  CHECK(m.units.size() == 1 + 16 + 1);
  CHECK(m.units.front().out_size == 56);
  CHECK(m.units[m.units.size() - 2].out_size == 7);
  CHECK(m.units[m.units.size() - 2].output_bytes_per_sample() == 7 * 7 * 2048 * 4);
}

TEST_CASE("units carry torchvision names, v1.5 strides and shortcuts", "[models]") {
  const ModelSpec m = resnet_spec("resnet50");
  std::set<std::string> names;
  for (const auto& u : m.units) {
    for (const auto& p : u.parameters) names.insert(p.name);
    for (const auto& b : u.buffers) names.insert(b.name);
  }
  for (const char* n :
       {"conv1.weight", "bn1.running_mean", "layer3.2.conv2.weight",
        "layer1.0.downsample.1.num_batches_tracked", "layer4.2.bn3.bias", "fc.weight", "fc.bias"})
    CHECK(names.count(n) == 1);
  const UnitSpec& l2 = m.units[4];  // stem, layer1.0-2, layer2.0
  CHECK(l2.name == "layer2.0");
  CHECK(l2.stride == 2);
  CHECK(l2.downsample);
  REQUIRE(l2.convs.size() == 4);
  CHECK(l2.convs[0].stride == 1);  // 1x1
  CHECK(l2.convs[1].stride == 2);  // 3x3 carries the stride (v1.5)
  CHECK(l2.convs[3].prefix == "layer2.0.downsample.0");
  CHECK_FALSE(m.units[5].downsample);
  // BN and bias parameters are marked so weight decay can skip them.
  for (const auto& p : l2.parameters)
    CHECK(p.norm_or_bias == (p.name.find(".bn") != std::string::npos ||
                             p.name.find("downsample.1") != std::string::npos));
}

TEST_CASE("model options are validated", "[models]") {
  CHECK_THROWS_WITH(resnet_spec("resnet51"),
                    Catch::Contains("unknown model 'resnet51'") && Catch::Contains("resnet50"));
  CHECK_THROWS_WITH(resnet_spec("resnet20", {0, 3, 32}),
                    Catch::Contains("classes must be 1 to 100000, got 0"));
  CHECK_THROWS_WITH(resnet_spec("resnet20", {10, 0, 32}),
                    Catch::Contains("input channels must be 1 to 64"));
  CHECK_THROWS_WITH(resnet_spec("resnet50", {10, 3, 16}),
                    Catch::Contains("32 to 8192 pixels a side (--image-size), got 16"));
  // The documented limits (runtime/limits.h), before any layer is sized from them.
  CHECK_THROWS_WITH(resnet_spec("resnet20", {2147483647, 3, 32}),
                    Catch::Contains("got 2147483647"));
  CHECK_THROWS_WITH(resnet_spec("resnet20", {10, 3, 2147483647}),
                    Catch::Contains("got 2147483647"));
  // User errors carry no source location.
  CHECK_THROWS_WITH(resnet_spec("resnet20", {10, 3, 2}), !Catch::Contains(".cpp:"));
  // The defaults the command line fills in: ImageNet nets 224px/1000 classes, CIFAR 32px/10.
  CHECK(resnet_defaults("resnet50").num_classes == 1000);
  CHECK(resnet_defaults("resnet50").image_size == 224);
  CHECK(resnet_defaults("resnet56").num_classes == 10);
  CHECK(resnet_defaults("resnet20").image_size == 32);
  CHECK(resnet_defaults("resnet20").cifar);
  CHECK_THROWS_WITH(resnet_defaults("resnet51"), Catch::Contains("unknown model 'resnet51'"));
  const ModelSpec m = resnet_spec("resnet18", {7, 1, 64});
  CHECK(m.units.back().parameters[0].shape == std::vector<int64_t>{7, 512});
  CHECK(m.units.front().parameters[0].shape == std::vector<int64_t>{64, 1, 7, 7});
}
