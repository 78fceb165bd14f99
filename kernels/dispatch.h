// Every kernel family exists three times with one signature:
//   augur::kernels::cpu::op(...)   the CPU reference (op.cpp)
//   augur::kernels::cuda::op(...)  the CUDA implementation (op.cu)
//   augur::kernels::op(...)        dispatch on the device of the arguments (op.cpp)
// The dispatcher checks that every view lives on the stream's device; there is no silent
// fallback from GPU to CPU.
#pragma once

#include <initializer_list>

#include "runtime/error.h"
#include "runtime/stream.h"
#include "runtime/tensor.h"

namespace augur::kernels {

// The device all `views` (and the stream) share; throws naming the op and the views.
const Device& common_device(const char* op, const Stream& stream,
                            std::initializer_list<const TensorView*> views);

// Throws unless the view is f32 or (for CPU references used by gradient checks) f64.
void require_float(const char* op, const char* what, const TensorView& v, bool allow_f64);

}  // namespace augur::kernels

// Calls cpu::NAME or cuda::NAME with the same arguments, by the device of the arguments.
// The CUDA branch makes that device current first, so no kernel family can launch on a
// stream of one GPU while another is current (a stage thread of cuda:1, say).
#if AUGUR_WITH_CUDA
#define AUGUR_DISPATCH(device, NAME, ...)                       \
  do {                                                          \
    if ((device).is_cuda()) {                                   \
      const ::augur::DeviceGuard augur_device_guard_((device)); \
      ::augur::kernels::cuda::NAME(__VA_ARGS__);                \
    } else {                                                    \
      ::augur::kernels::cpu::NAME(__VA_ARGS__);                 \
    }                                                           \
  } while (0)
#else
// A build without the CUDA toolkit has no cuda:: implementations (kernels/*.cu is not built).
#define AUGUR_DISPATCH(device, NAME, ...)                                                      \
  do {                                                                                         \
    if ((device).is_cuda())                                                                    \
      throw ::augur::Error(#NAME " on " + (device).str() +                                     \
                           ": this build of Augur has no CUDA backend (AUGUR_WITH_CUDA=OFF)"); \
    ::augur::kernels::cpu::NAME(__VA_ARGS__);                                                  \
  } while (0)
#endif
