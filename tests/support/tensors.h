// Moving test data between std::vector and tensors on any device.
#pragma once

#include <vector>

#include "runtime/stream.h"
#include "runtime/tensor.h"

namespace augur::test {

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

template <class T>
std::vector<T> to_vector(const TensorView& t, const Stream& stream) {
  std::vector<T> out(static_cast<size_t>(t.numel()));
  const TensorView host(out.data(), t.dtype(), Device::cpu(), t.shape());
  (void)t.data<T>();  // dtype check
  copy(host, t, stream);
  stream.synchronize();
  return out;
}

}  // namespace augur::test
