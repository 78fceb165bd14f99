#include "models/resnet_spec.h"

#include <map>
#include <sstream>

#include "runtime/error.h"
#include "runtime/limits.h"

namespace augur {

namespace {

struct FamilyRow {
  BlockKind block;
  std::vector<int> blocks_per_group;
  bool cifar;
};

const std::map<std::string, FamilyRow>& table() {
  static const std::map<std::string, FamilyRow> rows = {
      {"resnet18", {BlockKind::Basic, {2, 2, 2, 2}, false}},
      {"resnet34", {BlockKind::Basic, {3, 4, 6, 3}, false}},
      {"resnet50", {BlockKind::Bottleneck, {3, 4, 6, 3}, false}},
      {"resnet101", {BlockKind::Bottleneck, {3, 4, 23, 3}, false}},
      {"resnet152", {BlockKind::Bottleneck, {3, 8, 36, 3}, false}},
      {"resnet20", {BlockKind::Basic, {3, 3, 3}, true}},
      {"resnet32", {BlockKind::Basic, {5, 5, 5}, true}},
      {"resnet44", {BlockKind::Basic, {7, 7, 7}, true}},
      {"resnet56", {BlockKind::Basic, {9, 9, 9}, true}},
      {"resnet110", {BlockKind::Basic, {18, 18, 18}, true}},
  };
  return rows;
}

int conv_out(int in, int kernel, int stride, int padding) {
  return (in + 2 * padding - kernel) / stride + 1;
}

// Adds a conv (no bias) and the BatchNorm after it, with torchvision's names.
void add_conv_bn(UnitSpec& u, const std::string& conv, const std::string& bn, int in, int out,
                 int kernel, int stride, int padding, int in_size, int64_t* out_size) {
  u.convs.push_back({conv, in, out, kernel, stride, padding});
  u.parameters.push_back({conv + ".weight", {out, in, kernel, kernel}, false});
  u.parameters.push_back({bn + ".weight", {out}, true});
  u.parameters.push_back({bn + ".bias", {out}, true});
  u.buffers.push_back({bn + ".running_mean", {out}, false});
  u.buffers.push_back({bn + ".running_var", {out}, false});
  u.buffers.push_back({bn + ".num_batches_tracked", {}, false});
  const int o = conv_out(in_size, kernel, stride, padding);
  u.macs += int64_t(out) * in * kernel * kernel * o * o;
  *out_size = o;
}

}  // namespace

int64_t TensorSpec::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int64_t UnitSpec::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters) n += p.numel();
  return n;
}

int64_t UnitSpec::output_bytes_per_sample() const {
  // The head outputs logits; every other unit an out_size^2 x out_channels map.
  if (kind == UnitKind::Head) return int64_t(out_channels) * 4;
  return int64_t(out_size) * out_size * out_channels * 4;
}

int64_t ModelSpec::parameter_count() const {
  int64_t n = 0;
  for (const auto& u : units) n += u.parameter_count();
  return n;
}

int64_t ModelSpec::macs() const {
  int64_t n = 0;
  for (const auto& u : units) n += u.macs;
  return n;
}

std::vector<std::string> resnet_names() {
  return {"resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
          "resnet20", "resnet32", "resnet44", "resnet56",  "resnet110"};
}

ResNetDefaults resnet_defaults(const std::string& name) {
  auto row = table().find(name);
  if (row == table().end()) (void)resnet_spec(name, ResNetOptions{});  // throws naming it
  ResNetDefaults d;
  d.cifar = row->second.cifar;
  d.num_classes = d.cifar ? 10 : 1000;
  d.image_size = d.cifar ? 32 : 224;
  return d;
}

ModelSpec resnet_spec(const std::string& name, const ResNetOptions& options) {
  auto row_it = table().find(name);
  if (row_it == table().end()) {
    std::ostringstream os;
    os << "unknown model '" << name << "'; known models:";
    for (const auto& n : resnet_names()) os << " " << n;
    throw Error(os.str());
  }
  const FamilyRow& row = row_it->second;
  // Reached from flags and from data sets (their class count): said in those terms.
  if (options.num_classes < 1 || options.num_classes > limits::kClasses)
    AUGUR_THROW(name, ": the number of classes must be 1 to ", limits::kClasses, ", got ",
                options.num_classes);
  if (options.in_channels < 1 || options.in_channels > limits::kInChannels)
    AUGUR_THROW(name, ": input channels must be 1 to ", limits::kInChannels, ", got ",
                options.in_channels);
  const int min_size = row.cifar ? 4 : 32;
  if (options.image_size < min_size || options.image_size > limits::kImageSide)
    AUGUR_THROW(name, " needs images of ", min_size, " to ", limits::kImageSide,
                " pixels a side (--image-size), got ", options.image_size);

  ModelSpec m;
  m.name = name;
  m.options = options;
  int64_t size = options.image_size;

  // Stem.
  UnitSpec stem;
  stem.name = "stem";
  stem.kind = UnitKind::Stem;
  stem.in_channels = options.in_channels;
  stem.in_size = options.image_size;
  const int stem_width = row.cifar ? 16 : 64;
  if (row.cifar) {
    add_conv_bn(stem, "conv1", "bn1", options.in_channels, stem_width, 3, 1, 1, int(size), &size);
  } else {
    add_conv_bn(stem, "conv1", "bn1", options.in_channels, stem_width, 7, 2, 3, int(size), &size);
    stem.stem_maxpool = true;
    size = conv_out(int(size), 3, 2, 1);
  }
  stem.out_channels = stem_width;
  stem.out_size = int(size);
  m.units.push_back(stem);

  // Residual groups.
  const int expansion = row.block == BlockKind::Bottleneck ? 4 : 1;
  int channels = stem_width;
  for (size_t g = 0; g < row.blocks_per_group.size(); ++g) {
    const int width = stem_width << g;
    for (int b = 0; b < row.blocks_per_group[g]; ++b) {
      UnitSpec u;
      const std::string p = "layer" + std::to_string(g + 1) + "." + std::to_string(b);
      u.name = p;
      u.kind = UnitKind::Block;
      u.block = row.block;
      u.in_channels = channels;
      u.mid_channels = width;
      u.out_channels = width * expansion;
      u.stride = (b == 0 && g > 0) ? 2 : 1;
      u.downsample = u.stride != 1 || u.in_channels != u.out_channels;
      u.in_size = int(size);
      int64_t s = size;
      if (row.block == BlockKind::Basic) {
        add_conv_bn(u, p + ".conv1", p + ".bn1", channels, width, 3, u.stride, 1, int(s), &s);
        add_conv_bn(u, p + ".conv2", p + ".bn2", width, width, 3, 1, 1, int(s), &s);
      } else {  // torchvision v1.5: the stride sits on the 3x3 conv
        add_conv_bn(u, p + ".conv1", p + ".bn1", channels, width, 1, 1, 0, int(s), &s);
        add_conv_bn(u, p + ".conv2", p + ".bn2", width, width, 3, u.stride, 1, int(s), &s);
        add_conv_bn(u, p + ".conv3", p + ".bn3", width, width * expansion, 1, 1, 0, int(s), &s);
      }
      if (u.downsample) {
        int64_t ds = size;
        add_conv_bn(u, p + ".downsample.0", p + ".downsample.1", channels, u.out_channels, 1,
                    u.stride, 0, int(size), &ds);
      }
      u.out_size = int(s);
      size = s;
      channels = u.out_channels;
      m.units.push_back(u);
    }
  }

  // Head: global average pool and the classifier.
  UnitSpec head;
  head.name = "head";
  head.kind = UnitKind::Head;
  head.in_channels = channels;
  head.out_channels = options.num_classes;
  head.in_size = int(size);
  head.out_size = 1;
  head.parameters.push_back({"fc.weight", {options.num_classes, channels}, false});
  head.parameters.push_back({"fc.bias", {options.num_classes}, true});
  head.macs = int64_t(channels) * options.num_classes;
  m.units.push_back(head);
  return m;
}

}  // namespace augur
