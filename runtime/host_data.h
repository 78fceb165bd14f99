// Host vectors to and from tensors on any device: for set-up, checkpoints and checks, where
// waiting for the stream is fine (the hot paths copy views on streams instead).
#pragma once

#include <vector>

#include "runtime/error.h"
#include "runtime/stream.h"
#include "runtime/tensor.h"

namespace augur {

// A new tensor of `shape` on `device` holding `values` (as many as the shape has), after
// waiting for `stream`.
template <class T>
Tensor make_tensor(const std::vector<T>& values, Shape shape, const Device& device,
                   const Stream& stream) {
  AUGUR_ARG_CHECK(static_cast<int64_t>(values.size()) == shape.numel(),
                  "make_tensor: ", values.size(), " values for shape ", shape.str());
  Tensor t = Tensor::empty(shape, dtype_of<T>(), device, &stream);
  const TensorView host(const_cast<T*>(values.data()), dtype_of<T>(), Device::cpu(), shape);
  copy(t, host, stream);
  stream.synchronize();
  return t;
}

// The values of `t`, whose dtype must be T's, on the host after waiting for `stream`.
template <class T>
std::vector<T> to_vector(const TensorView& t, const Stream& stream) {
  std::vector<T> out(static_cast<size_t>(t.numel()));
  const TensorView host(out.data(), t.dtype(), Device::cpu(), t.shape());
  (void)t.data<T>();  // dtype check
  copy(host, t, stream);
  stream.synchronize();
  return out;
}

// A new tensor on `device` holding a copy of `source` (from any device), ordered on `stream`
// without waiting.
inline Tensor copy_of(const TensorView& source, const Device& device, const Stream& stream) {
  Tensor t = Tensor::empty(source.shape(), source.dtype(), device, &stream);
  copy(t, source, stream);
  return t;
}

}  // namespace augur
