// Element types of tensors. bf16 and f16 are storage types; arithmetic accumulates in f32.
#pragma once

#if AUGUR_WITH_CUDA
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#endif

#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/bf16.h"

namespace augur {

enum class DType : uint8_t { F32, F64, BF16, F16, I32, I64, U8 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);
// Unit roundoff (half the machine epsilon) of a floating type; 0 for integers.
double dtype_unit_roundoff(DType t);
bool dtype_is_floating(DType t);

template <class T>
struct DTypeOf;
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::F32;
};
template <>
struct DTypeOf<double> {
  static constexpr DType value = DType::F64;
};
template <>
struct DTypeOf<int32_t> {
  static constexpr DType value = DType::I32;
};
template <>
struct DTypeOf<int64_t> {
  static constexpr DType value = DType::I64;
};
template <>
struct DTypeOf<uint8_t> {
  static constexpr DType value = DType::U8;
};

template <>
struct DTypeOf<bf16> {  // the host's bf16 storage (runtime/bf16.h)
  static constexpr DType value = DType::BF16;
};
#if AUGUR_WITH_CUDA
template <>
struct DTypeOf<__nv_bfloat16> {
  static constexpr DType value = DType::BF16;
};
template <>
struct DTypeOf<__half> {
  static constexpr DType value = DType::F16;
};
#endif

template <class T>
constexpr DType dtype_of() {
  return DTypeOf<T>::value;
}

}  // namespace augur
