// A process that makes a kernel fault while tensors are alive, and handles the error as the
// `augur` binary does (message, exit 1). Run by the [gpu] teardown test, never by CTest: a
// sticky CUDA error ends the context for good, so it needs a process of its own.
#include <cstdint>
#include <exception>
#include <iostream>

#include "kernels/elementwise.h"
#include "runtime/stream.h"
#include "runtime/tensor.h"

int main() {
  using namespace augur;
  try {
    const Device d = Device::cuda(0);
    Stream s = Stream::create(d);
    const int64_t n = 1 << 20;
    Tensor alive = Tensor::zeros(Shape{n}, DType::F32, d, s);  // released while unwinding
    Tensor out = Tensor::empty(Shape{n}, DType::F32, d, &s);
    // Not memory of this process: the kernel faults, and the stream reports it.
    const TensorView bogus(reinterpret_cast<void*>(uintptr_t(0x1000)), DType::F32, d, Shape{n});
    kernels::relu_forward(bogus, out, s);
    s.synchronize();
    std::cerr << "fault_child: the kernel did not fault\n";
    return 3;
  } catch (const std::exception& e) {
    std::cerr << "augur: error: " << e.what() << "\n";
    return 1;
  }
}
