#include "data/open.h"

#include "data/cifar.h"
#include "data/idx.h"
#include "data/image_folder.h"
#include "data/synthetic.h"
#include "runtime/error.h"

namespace augur::data {

std::shared_ptr<const Dataset> open_dataset(const DatasetSpec& spec) {
  const auto need_path = [&] {
    AUGUR_ARG_CHECK(!spec.path.empty(), "dataset ", spec.name, " needs a data path");
  };
  if (spec.name == "fashion-mnist" || spec.name == "mnist") {
    if (spec.name == "mnist") need_path();
    const std::string dir = spec.path.empty() ? kFashionMnistDir : spec.path;
    IdxOptions o = spec.name == "mnist" ? IdxOptions::mnist(dir, spec.split)
                                        : IdxOptions::fashion_mnist(dir, spec.split);
    o.augment.enabled = spec.small_augment;
    return std::make_shared<IdxDataset>(o);
  }
  if (spec.name == "cifar10") {
    need_path();
    CifarOptions o;
    o.dir = spec.path;
    o.split = spec.split;
    o.augment.enabled = spec.small_augment;
    return std::make_shared<CifarDataset>(o);
  }
  if (spec.name == "imagefolder") {
    need_path();
    ImageFolderOptions o;
    o.root = spec.path;
    o.split = spec.split;
    o.size = spec.image_size > 0 ? spec.image_size : 224;
    return std::make_shared<ImageFolderDataset>(o);
  }
  if (spec.name == "synthetic") {
    SyntheticOptions o;
    const int side = spec.image_size > 0 ? spec.image_size : 32;
    o.size = spec.synthetic_samples;
    o.shape = {side, side, spec.channels};
    o.num_classes = spec.num_classes;
    o.seed = spec.seed;
    o.split = spec.split;
    o.augment.enabled = spec.small_augment;
    return std::make_shared<SyntheticDataset>(o);
  }
  AUGUR_THROW("unknown dataset '", spec.name,
              "' (expected fashion-mnist, mnist, cifar10, imagefolder or synthetic)");
}

}  // namespace augur::data
