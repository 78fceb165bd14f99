#include "kernels/dispatch.h"

#include <sstream>

namespace augur::kernels {

const Device& common_device(const char* op, const Stream& stream,
                            std::initializer_list<const TensorView*> views) {
  const Device& d = stream.device();
  for (const TensorView* v : views) {
    if (!v || v->empty()) continue;
    if (v->device() != d) {
      std::ostringstream os;
      os << op << ": tensor " << v->str() << " is not on the stream's device " << d.str();
      throw Error(os.str());
    }
  }
  return d;
}

void require_float(const char* op, const char* what, const TensorView& v, bool allow_f64) {
  const bool ok = v.dtype() == DType::F32 || (allow_f64 && v.dtype() == DType::F64);
  AUGUR_ARG_CHECK(ok, op, ": ", what, " has unsupported dtype ", dtype_name(v.dtype()),
                  allow_f64 ? " (expected f32, or f64 on CPU)" : " (expected f32)");
}

}  // namespace augur::kernels
