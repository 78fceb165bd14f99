#include "apps/precision.h"

#include <algorithm>
#include <iostream>

#include "kernels/gpu_math.h"
#include "runtime/error.h"

namespace augur {

const std::vector<std::string>& precision_names() {
  static const std::vector<std::string> names = {"auto", "fp32", "tf32", "bf16"};
  return names;
}

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::Fp32: return "fp32";
    case Precision::Tf32: return "tf32";
    case Precision::Bf16: return "bf16";
  }
  return "?";
}

Precision resolve_precision(const std::string& name, const std::vector<Device>& devices,
                            const std::string& flag) {
  const bool any_gpu =
      std::any_of(devices.begin(), devices.end(), [](const Device& d) { return d.is_cuda(); });
  if (name == "auto") return any_gpu ? Precision::Tf32 : Precision::Fp32;
  if (name == "fp32") return Precision::Fp32;
  if (name == "tf32") {
    if (!any_gpu)
      throw Error(flag +
                  " tf32: TF32 is a GPU tensor-core mode and every stage is on the CPU, "
                  "which computes in fp32; use " +
                  flag + " fp32 (or auto)");
    return Precision::Tf32;
  }
  if (name == "bf16") {
    for (const Device& d : devices)
      if (d.is_cuda()) {
        // Written and tested against the CPU emulation's bounds ([gpu] tests), but until a
        // GPU session has run them the user hears it.
        std::cerr << "augur: note: " << flag << " bf16 on " << d.str()
                  << ": the CUDA bf16 kernels have not yet passed their [gpu] tests on real "
                     "hardware (docs/gpu-validation.md); run the bundle's run-gpu-suite there "
                     "first\n";
        break;
      }
    return Precision::Bf16;
  }
  throw Error(flag + " '" + name + "': expected auto, fp32, tf32 or bf16");
}

DType compute_dtype(Precision p) {
  return p == Precision::Bf16 ? DType::BF16 : DType::F32;
}

void apply_precision(Precision p) {
  kernels::set_gpu_allow_tf32(p == Precision::Tf32);
}

}  // namespace augur
