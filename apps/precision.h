// `--precision`: what the stages compute in. fp32 is IEEE single precision throughout; tf32
// lets cuDNN and cuBLAS multiply f32 operands on tensor cores with 10-bit mantissas (GPU
// stages only); bf16 stores activations, their gradients and the compute copy of the
// weights in bf16 while master weights, gradients, optimizer state and BatchNorm statistics
// stay f32 (design, section 6). `auto` is tf32 when a stage is on a GPU (PyTorch's default for
// convolutions; ResNet-50 trained 6.5x faster than in strict f32 on an H200, 2,646 against
// 408 img/s, docs/gpu-validation.md) and fp32 on the CPU, where bf16 is
// an emulation for numerics, slower than f32. auto is not bf16 on a GPU until the CUDA bf16
// kernels have passed their [gpu] tests and the accuracy check on hardware.
#pragma once

#include <string>
#include <vector>

#include "runtime/device.h"
#include "runtime/dtype.h"

namespace augur {

enum class Precision { Fp32, Tf32, Bf16 };

const std::vector<std::string>& precision_names();  // auto, fp32, tf32, bf16
const char* precision_name(Precision p);

// The precision `name` ("auto" included) means for stages on `devices`; a clear error naming
// `flag` when it cannot run there (tf32 without a GPU stage).
Precision resolve_precision(const std::string& name, const std::vector<Device>& devices,
                            const std::string& flag = "--precision");

DType compute_dtype(Precision p);

// Sets the process-wide TF32 switch of the GPU kernels (kernels/gpu_math.h) for `p`.
void apply_precision(Precision p);

}  // namespace augur
