// The ResNet family as a table. A model is a flat list of partitionable units (the stem,
// each residual block, the head); each unit knows its parameters under torchvision's names
// and layouts, its buffers, its output size, and its forward multiply-adds, so the
// partitioner, `augur info` and the layer builder all read the same description.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace augur {

enum class BlockKind { Basic, Bottleneck };
enum class UnitKind { Stem, Block, Head };

struct ResNetOptions {
  int num_classes = 1000;
  int in_channels = 3;
  int image_size = 224;  // square inputs
};

struct TensorSpec {
  std::string name;            // torchvision name, e.g. "layer1.0.conv1.weight"
  std::vector<int64_t> shape;  // PyTorch layout (conv weights OIHW)
  bool norm_or_bias = false;   // BatchNorm and bias parameters (weight decay may skip them)
  int64_t numel() const;
};

struct ConvSpec {
  std::string prefix;  // "layer1.0.conv1"
  int in_channels, out_channels, kernel, stride, padding;
};

struct UnitSpec {
  std::string name;  // "stem", "layer2.3", "head"
  UnitKind kind;
  BlockKind block = BlockKind::Basic;
  int in_channels = 0, out_channels = 0;
  int mid_channels = 0;  // bottleneck width, or the block's channels for a basic block
  int stride = 1;
  bool downsample = false;  // projection shortcut (1x1 conv + BN)
  bool stem_maxpool = false;
  int in_size = 0, out_size = 0;  // spatial side of the input and output
  std::vector<TensorSpec> parameters;
  std::vector<TensorSpec> buffers;  // BN running_mean, running_var, num_batches_tracked
  std::vector<ConvSpec> convs;      // in execution order (downsample last)

  int64_t parameter_count() const;
  int64_t macs = 0;  // forward multiply-adds per sample (convolutions and the classifier)
  // Bytes per sample of the unit's output activation in f32 (what a stage boundary sends).
  int64_t output_bytes_per_sample() const;
};

struct ModelSpec {
  std::string name;
  ResNetOptions options;
  std::vector<UnitSpec> units;
  int64_t parameter_count() const;
  int64_t macs() const;
};

// "resnet18|34|50|101|152" (torchvision, ImageNet stem) and "resnet20|32|44|56|110" (He et
// al.'s CIFAR networks with projection shortcuts). Unknown names throw listing the known ones.
ModelSpec resnet_spec(const std::string& name, const ResNetOptions& options = {});
std::vector<std::string> resnet_names();

// What a model is made for when nothing else is said: ImageNet networks take 224x224 RGB
// images and 1000 classes; the CIFAR networks (no stem max-pool) 32x32 and 10 classes. The
// command line fills unset options from here. Throws for an unknown model.
struct ResNetDefaults {
  bool cifar = false;
  int num_classes = 1000;
  int image_size = 224;
};
ResNetDefaults resnet_defaults(const std::string& name);

}  // namespace augur
