#include "kernels/convert.h"

#include <cstring>

#include "kernels/dispatch.h"
#include "runtime/thread_pool.h"

namespace augur::kernels {

namespace detail {

void check_convert(const TensorView& src, const TensorView& dst, bool allow_f64) {
  AUGUR_ARG_CHECK(src.shape() == dst.shape(), "convert: shapes differ: src ", src.str(), ", dst ",
                  dst.str());
  const auto floating = [&](DType t) {
    return t == DType::F32 || t == DType::BF16 || (allow_f64 && t == DType::F64);
  };
  // A copy, or one side is f32: every conversion goes through the type arithmetic happens in.
  const bool ok =
      floating(src.dtype()) && floating(dst.dtype()) &&
      (src.dtype() == dst.dtype() || src.dtype() == DType::F32 || dst.dtype() == DType::F32);
  AUGUR_ARG_CHECK(ok, "convert: unsupported conversion ", dtype_name(src.dtype()), " -> ",
                  dtype_name(dst.dtype()), " (supported: f32 <-> bf16",
                  allow_f64 ? ", f32 <-> f64 on CPU)" : ")");
}

}  // namespace detail

namespace cpu {

namespace {

constexpr int64_t kGrain = 1 << 15;

template <class S, class D, class F>
void map(const TensorView& src, const TensorView& dst, F f) {
  const S* in = src.data<S>();
  D* out = dst.data<D>();
  ThreadPool::global().parallel_for(0, src.numel(), kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) out[i] = f(in[i]);
  });
}

}  // namespace

void convert(const TensorView& src, const TensorView& dst, const Stream&) {
  detail::check_convert(src, dst, true);
  if (src.numel() == 0) return;
  const DType s = src.dtype(), d = dst.dtype();
  if (s == d) {
    std::memcpy(dst.raw(), src.raw(), src.bytes());
  } else if (s == DType::F32 && d == DType::BF16) {
    map<float, bf16>(src, dst, [](float x) { return float_to_bf16(x); });
  } else if (s == DType::BF16) {
    map<bf16, float>(src, dst, [](bf16 x) { return bf16_to_float(x); });
  } else if (s == DType::F32) {
    map<float, double>(src, dst, [](float x) { return double(x); });
  } else {
    map<double, float>(src, dst, [](double x) { return float(x); });
  }
}

}  // namespace cpu

void convert(const TensorView& src, const TensorView& dst, const Stream& stream) {
  const Device& d = common_device("convert", stream, {&src, &dst});
  AUGUR_DISPATCH(d, convert, src, dst, stream);
}

}  // namespace augur::kernels
