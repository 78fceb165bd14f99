#include "runtime/tensor.h"

#include <cstring>
#include <sstream>

#include "runtime/cuda_check.h"
#include "runtime/stream.h"

namespace augur {

Shape::Shape(std::initializer_list<int64_t> dims) {
  AUGUR_ARG_CHECK(static_cast<int>(dims.size()) <= kMaxRank, "shape of rank ", dims.size(),
                  " exceeds the maximum rank ", kMaxRank);
  for (int64_t d : dims) {
    AUGUR_ARG_CHECK(d >= 0, "negative dimension ", d, " in a shape");
    dims_[rank_++] = d;
  }
}

int64_t Shape::operator[](int i) const {
  AUGUR_ARG_CHECK(i >= 0 && i < rank_, "dimension ", i, " out of range for shape ", str());
  return dims_[i];
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[i];
  return n;
}

Shape Shape::with_dim(int i, int64_t value) const {
  AUGUR_ARG_CHECK(i >= 0 && i < rank_, "dimension ", i, " out of range for shape ", str());
  AUGUR_ARG_CHECK(value >= 0, "negative dimension ", value, " in a shape");
  Shape s = *this;
  s.dims_[i] = value;
  return s;
}

std::string Shape::str() const {
  std::ostringstream os;
  os << "[";
  for (int i = 0; i < rank_; ++i) os << (i ? ", " : "") << dims_[i];
  os << "]";
  return os.str();
}

bool operator==(const Shape& a, const Shape& b) {
  if (a.rank_ != b.rank_) return false;
  for (int i = 0; i < a.rank_; ++i)
    if (a.dims_[i] != b.dims_[i]) return false;
  return true;
}

int64_t TensorView::nhwc_dim(int i) const {
  AUGUR_ARG_CHECK(rank() == 4, "NHWC access to a tensor of shape ", shape_.str());
  return shape_[i];
}

TensorView TensorView::slice_batch(int64_t begin, int64_t count) const {
  AUGUR_ARG_CHECK(rank() >= 1, "slice_batch of a rank-0 tensor");
  AUGUR_ARG_CHECK(begin >= 0 && count >= 0 && begin + count <= shape_[0], "batch slice [", begin,
                  ", ", begin + count, ") out of range for shape ", shape_.str());
  const int64_t per_sample = shape_[0] == 0 ? 0 : numel() / shape_[0];
  const Shape s = shape_.with_dim(0, count);
  char* base = static_cast<char*>(data_) + begin * per_sample * dtype_size(dtype_);
  return TensorView(base, dtype_, device_, s);
}

TensorView TensorView::reshaped(Shape shape) const {
  AUGUR_ARG_CHECK(shape.numel() == numel(), "cannot reshape ", shape_.str(), " to ", shape.str());
  return TensorView(data_, dtype_, device_, shape);
}

std::string TensorView::str() const {
  return std::string(dtype_name(dtype_)) + shape_.str() + "@" + device_.str();
}

Tensor Tensor::empty(Shape shape, DType dtype, const Device& device, const Stream* stream) {
  Tensor t;
  t.buffer_ = Buffer(device, static_cast<size_t>(shape.numel()) * dtype_size(dtype), stream);
  t.view_ = TensorView(t.buffer_.data(), dtype, device, shape);
  return t;
}

Tensor Tensor::zeros(Shape shape, DType dtype, const Device& device, const Stream& stream) {
  Tensor t = empty(shape, dtype, device, &stream);
  t.buffer_.zero(stream);
  return t;
}

void copy_bytes(void* dst, const Device& dst_device, const void* src, const Device& src_device,
                size_t bytes, const Stream& stream) {
  if (bytes == 0) return;
  AUGUR_ARG_CHECK(dst && src, "copy of ", bytes, " bytes with a null pointer");
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
  const Device& run_on = dst_device.is_cuda() ? dst_device : src_device;
  AUGUR_ARG_CHECK(
      stream.device().is_cpu() || stream.device() == dst_device || stream.device() == src_device,
      "copy ", src_device.str(), " -> ", dst_device.str(), " on a stream of ",
      stream.device().str());
  DeviceGuard guard(stream.device().is_cuda() ? stream.device() : run_on);
  if (dst_device.is_cuda() && src_device.is_cuda() && dst_device.index != src_device.index) {
    CUDA_CHECK(
        cudaMemcpyPeerAsync(dst, dst_device.index, src, src_device.index, bytes, stream.handle()));
  } else {
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream.handle()));
  }
  // A CPU stream means "synchronous": the caller expects the data to be there on return.
  if (stream.device().is_cpu()) CUDA_CHECK(cudaStreamSynchronize(stream.handle()));
}

void copy(const TensorView& dst, const TensorView& src, const Stream& stream) {
  AUGUR_ARG_CHECK(dst.shape() == src.shape() && dst.dtype() == src.dtype(), "copy from ", src.str(),
                  " to ", dst.str(), ": shapes and dtypes must match");
  copy_bytes(dst.raw(), dst.device(), src.raw(), src.device(), src.bytes(), stream);
}

}  // namespace augur
