#include "runtime/dtype.h"

#include "runtime/error.h"

namespace augur {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::BF16: return 2;
    case DType::F16: return 2;
    case DType::I32: return 4;
    case DType::I64: return 8;
    case DType::U8: return 1;
  }
  AUGUR_THROW("unknown dtype ", static_cast<int>(t));
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F64: return "f64";
    case DType::BF16: return "bf16";
    case DType::F16: return "f16";
    case DType::I32: return "i32";
    case DType::I64: return "i64";
    case DType::U8: return "u8";
  }
  return "unknown";
}

double dtype_unit_roundoff(DType t) {
  switch (t) {
    case DType::F32: return 0x1p-24;
    case DType::F64: return 0x1p-53;
    case DType::BF16: return 0x1p-8;
    case DType::F16: return 0x1p-11;
    default: return 0.0;
  }
}

bool dtype_is_floating(DType t) {
  return dtype_unit_roundoff(t) > 0.0;
}

}  // namespace augur
