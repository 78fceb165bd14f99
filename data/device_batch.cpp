#include "data/device_batch.h"

#include "runtime/error.h"

namespace augur::data {

DeviceBatch::DeviceBatch(const Device& device, int64_t batch_size, const ImageShape& shape,
                         const Stream& stream)
    : capacity_(batch_size),
      shape_(shape),
      images_(Tensor::empty(Shape::nhwc(batch_size, shape.h, shape.w, shape.c), DType::F32, device,
                            &stream)),
      labels_(Tensor::empty(Shape{batch_size}, DType::I64, device, &stream)),
      ready_(device) {}

DeviceBatch::~DeviceBatch() {
  if (host_) {
    try {
      ready_.synchronize();
    } catch (...) {
      // A failed device cannot be waited on; the host memory is released regardless.
    }
  }
}

void DeviceBatch::load(std::shared_ptr<const Batch> batch, const Stream& stream) {
  AUGUR_ARG_CHECK(batch != nullptr, "DeviceBatch::load: null batch");
  AUGUR_ARG_CHECK(batch->shape == shape_ && batch->size <= capacity_,
                  "DeviceBatch::load: batch of ", batch->size, " x ", batch->shape.str(),
                  " into room for ", capacity_, " x ", shape_.str());
  AUGUR_ARG_CHECK(stream.device() == images_.device(), "DeviceBatch::load: a stream of ",
                  stream.device().str(), " for buffers on ", images_.device().str());
  if (host_) ready_.synchronize();
  host_ = std::move(batch);
  size_ = host_->size;
  copy(images(), host_->images_view(), stream);
  copy(labels(), host_->labels_view(), stream);
  ready_.record(stream);
}

void DeviceBatch::wait(const Stream& consumer) const {
  ready_.wait(consumer);
}

void DeviceBatch::synchronize() const {
  ready_.synchronize();
}

TensorView DeviceBatch::images() const {
  return images_.view().slice_batch(0, size_);
}

TensorView DeviceBatch::labels() const {
  return labels_.view().slice_batch(0, size_);
}

}  // namespace augur::data
