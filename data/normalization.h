// Per-channel statistics of the standard datasets (pixel values scaled to [0, 1]). Each is
// the mean and population standard deviation over the training split, as the community
// uses them; where they come from is noted beside each.
#pragma once

#include "data/dataset.h"

namespace augur::data {

// Fashion-MNIST: over the 60,000 training images (tests/data/test_idx.cpp recomputes them
// from Debian's files when dataset-fashion-mnist is installed).
inline Normalization fashion_mnist_normalization() {
  return {{0.2860f}, {0.3530f}};
}

// MNIST: the figures of PyTorch's examples/mnist/main.py, over the training images.
inline Normalization mnist_normalization() {
  return {{0.1307f}, {0.3081f}};
}

// CIFAR-10: over the 50,000 training images, per channel (R, G, B). The often-copied std
// (0.2023, 0.1994, 0.2010) is the mean of per-image standard deviations, not the pixel
// std, so it is not used here.
inline Normalization cifar10_normalization() {
  return {{0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}};
}

// ImageNet (ILSVRC-2012): the values torchvision's pretrained models and reference
// training scripts (references/classification/presets.py) use.
inline Normalization imagenet_normalization() {
  return {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
}

}  // namespace augur::data
