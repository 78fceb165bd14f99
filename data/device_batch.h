// The device side of a loader batch for GPU stages: device buffers sized for the largest
// batch, filled from a pinned host batch by asynchronous copies on a given stream, with an
// event the consumer's stream waits on. Use two in turn to overlap the copy of batch i+1
// with the compute on batch i.
#pragma once

#include <cstdint>
#include <memory>

#include "data/loader.h"
#include "runtime/stream.h"
#include "runtime/tensor.h"

namespace augur::data {

class DeviceBatch {
 public:
  DeviceBatch(const Device& device, int64_t batch_size, const ImageShape& shape,
              const Stream& stream);
  // Waits for its own copies before the host batch it holds is released.
  ~DeviceBatch();
  DeviceBatch(const DeviceBatch&) = delete;
  DeviceBatch& operator=(const DeviceBatch&) = delete;

  // Enqueues the copies of `batch` on `stream` and records the ready event. The host batch
  // is kept alive until the copies are known to be done (the next load or destruction).
  // The caller must have made `stream` wait for earlier readers of this DeviceBatch.
  void load(std::shared_ptr<const Batch> batch, const Stream& stream);
  // Makes `consumer` wait until the last load's copies are done.
  void wait(const Stream& consumer) const;
  void synchronize() const;

  int64_t size() const { return size_; }
  TensorView images() const;  // f32 (size, h, w, c)
  TensorView labels() const;  // i64 (size)

 private:
  int64_t capacity_;
  ImageShape shape_;
  Tensor images_;
  Tensor labels_;
  Event ready_;
  std::shared_ptr<const Batch> host_;
  int64_t size_ = 0;
};

}  // namespace augur::data
