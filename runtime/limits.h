// The documented limits on sizes and counts that come from outside (flags, data and model
// files). Inputs beyond them are refused before anything is allocated, with a message naming
// the flag or file, the field and the limit; each is far above any real use and low enough
// that the products computed from them (bytes of a batch, actions of a schedule) fit int64_t
// and host memory. docs/architecture.md ("Limits") lists them for users.
#pragma once

#include <cstdint>

namespace augur::limits {

// Model input side (--image-size), in pixels.
inline constexpr int64_t kImageSide = 8192;
// A decoded JPEG: each side, and pixels in all (256 Mpx: 768 MB as RGB bytes).
inline constexpr int64_t kJpegSide = 32768;
inline constexpr int64_t kJpegPixels = int64_t(1) << 28;
// Classes of a model (--num-classes); ImageNet-21k has 21,841.
inline constexpr int64_t kClasses = 100000;
// Input channels of a model (--in-channels).
inline constexpr int64_t kInChannels = 64;
// Samples per optimizer step (-b) and micro-batches per step (--micro-batches).
inline constexpr int64_t kBatchSize = int64_t(1) << 20;
inline constexpr int64_t kMicroBatches = 65536;
// Pipeline stages and data-parallel replicas.
inline constexpr int64_t kStages = 1024;
// Epochs of one run.
inline constexpr int64_t kEpochs = 1000000;
// (A tensor in a safetensors file is bounded by the file: its shape's byte count, computed
// without wrapping, must equal its data range inside the file.)

}  // namespace augur::limits
