// Tensor views: a pointer, a dtype, a device and a shape over contiguous memory. Rank-4
// views are NHWC (batch, height, width, channels), the layout of every activation in
// Augur; rank-2 views are (rows, columns). Views never own memory; Tensor does.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "runtime/buffer.h"
#include "runtime/device.h"
#include "runtime/dtype.h"
#include "runtime/error.h"

namespace augur {

class Stream;

class Shape {
 public:
  static constexpr int kMaxRank = 6;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  static Shape nhwc(int64_t n, int64_t h, int64_t w, int64_t c) { return {n, h, w, c}; }

  int rank() const { return rank_; }
  int64_t operator[](int i) const;
  int64_t numel() const;
  // The same shape with dimension i replaced by `value`.
  Shape with_dim(int i, int64_t value) const;
  std::string str() const;
  const int64_t* begin() const { return dims_.data(); }
  const int64_t* end() const { return dims_.data() + rank_; }

  friend bool operator==(const Shape& a, const Shape& b);
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

 private:
  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

class TensorView {
 public:
  TensorView() = default;
  TensorView(void* data, DType dtype, Device device, Shape shape)
      : data_(data), dtype_(dtype), device_(device), shape_(shape) {}

  void* raw() const { return data_; }
  // Typed access; throws when T does not match the view's dtype.
  template <class T>
  T* data() const {
    AUGUR_ARG_CHECK(dtype_of<T>() == dtype_, "tensor of dtype ", dtype_name(dtype_),
                    " accessed as ", dtype_name(dtype_of<T>()));
    return static_cast<T*>(data_);
  }
  DType dtype() const { return dtype_; }
  const Device& device() const { return device_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  int64_t dim(int i) const { return shape_[i]; }
  int64_t numel() const { return shape_.numel(); }
  size_t bytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool empty() const { return data_ == nullptr; }

  // NHWC accessors for rank-4 views.
  int64_t n() const { return nhwc_dim(0); }
  int64_t h() const { return nhwc_dim(1); }
  int64_t w() const { return nhwc_dim(2); }
  int64_t c() const { return nhwc_dim(3); }

  // Samples [begin, begin + count) along the leading dimension.
  TensorView slice_batch(int64_t begin, int64_t count) const;
  // Same memory, another shape with the same element count.
  TensorView reshaped(Shape shape) const;
  std::string str() const;

 private:
  int64_t nhwc_dim(int i) const;
  void* data_ = nullptr;
  DType dtype_ = DType::F32;
  Device device_ = Device::cpu();
  Shape shape_;
};

class Tensor {
 public:
  Tensor() = default;
  static Tensor empty(Shape shape, DType dtype, const Device& device,
                      const Stream* stream = nullptr);
  static Tensor zeros(Shape shape, DType dtype, const Device& device, const Stream& stream);

  const TensorView& view() const { return view_; }
  operator const TensorView&() const { return view_; }  // NOLINT: a tensor is usable as a view
  template <class T>
  T* data() const {
    return view_.data<T>();
  }
  const Shape& shape() const { return view_.shape(); }
  DType dtype() const { return view_.dtype(); }
  const Device& device() const { return view_.device(); }
  int64_t numel() const { return view_.numel(); }
  size_t bytes() const { return view_.bytes(); }
  bool empty() const { return view_.empty(); }
  // See Buffer::set_stream.
  void set_stream(const Stream& stream) { buffer_.set_stream(stream); }
  // Sets every element to zero (on `stream` for CUDA).
  void zero(const Stream& stream) { buffer_.zero(stream); }

 private:
  Buffer buffer_;
  TensorView view_;
};

// The one way data crosses between host and device: an explicit copy on an explicit stream.
// Shapes and dtypes must match. Host->host copies run synchronously.
void copy(const TensorView& dst, const TensorView& src, const Stream& stream);
// Raw bytes between two memories, for arenas and staging buffers.
void copy_bytes(void* dst, const Device& dst_device, const void* src, const Device& src_device,
                size_t bytes, const Stream& stream);

}  // namespace augur
