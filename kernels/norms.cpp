#include "kernels/norms.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "kernels/dispatch.h"
#include "runtime/thread_pool.h"

namespace augur::kernels {

namespace detail {

void check_norm_args(const TensorView& a, const TensorView& b, const TensorView& out,
                     bool allow_f64) {
  auto ok = [&](const TensorView& v) {
    return v.dtype() == DType::F32 || v.dtype() == DType::BF16 ||
           (allow_f64 && v.dtype() == DType::F64);
  };
  AUGUR_ARG_CHECK(!a.empty() || a.numel() == 0, "norm_diff_and_norm: a is empty");
  AUGUR_ARG_CHECK(ok(a), "norm_diff_and_norm: a ", a.str(), " must be f32 or bf16",
                  allow_f64 ? " (or f64 on CPU)" : "");
  if (!b.empty()) {
    AUGUR_ARG_CHECK(ok(b), "norm_diff_and_norm: b ", b.str(), " must be f32 or bf16",
                    allow_f64 ? " (or f64 on CPU)" : "");
    AUGUR_ARG_CHECK(b.numel() == a.numel(), "norm_diff_and_norm: a ", a.str(), " and b ", b.str(),
                    " differ in size");
  }
  AUGUR_ARG_CHECK(!out.empty() && out.dtype() == DType::F64 && out.numel() == 2,
                  "norm_diff_and_norm: out ", out.str(), " must be f64 with 2 elements");
}

}  // namespace detail

namespace {

// Fixed blocks, summed in index order, make the result independent of the thread count.
constexpr int64_t kBlockElems = 1 << 15;

template <class T>
double load(const void* p, int64_t i) {
  if constexpr (std::is_same_v<T, bf16>)
    return double(bf16_to_float(static_cast<const T*>(p)[i]));
  else
    return double(static_cast<const T*>(p)[i]);
}

template <class A, class B>
void sums(const void* a, const void* b, int64_t n, double* out) {
  const int64_t blocks = (n + kBlockElems - 1) / kBlockElems;
  std::vector<double> diff(blocks), norm(blocks);
  ThreadPool::global().parallel_for(0, blocks, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) {
      double d2 = 0, a2 = 0;
      const int64_t end = std::min(n, (k + 1) * kBlockElems);
      for (int64_t i = k * kBlockElems; i < end; ++i) {
        const double x = load<A>(a, i);
        const double d = b ? x - load<B>(b, i) : x;
        d2 += d * d;
        a2 += x * x;
      }
      diff[k] = d2;
      norm[k] = a2;
    }
  });
  double d2 = 0, a2 = 0;
  for (int64_t k = 0; k < blocks; ++k) {
    d2 += diff[k];
    a2 += norm[k];
  }
  out[0] = std::sqrt(d2);
  out[1] = std::sqrt(a2);
}

template <class A>
void sums_b(const TensorView& a, const TensorView& b, double* out) {
  const void* pb = b.empty() ? nullptr : b.raw();
  switch (b.empty() ? a.dtype() : b.dtype()) {
    case DType::F64: sums<A, double>(a.raw(), pb, a.numel(), out); break;
    case DType::BF16: sums<A, bf16>(a.raw(), pb, a.numel(), out); break;
    default: sums<A, float>(a.raw(), pb, a.numel(), out); break;
  }
}

}  // namespace

namespace cpu {

void norm_diff_and_norm(const TensorView& a, const TensorView& b, const TensorView& out,
                        const Stream&) {
  detail::check_norm_args(a, b, out, true);
  double* o = out.data<double>();
  switch (a.dtype()) {
    case DType::F64: sums_b<double>(a, b, o); break;
    case DType::BF16: sums_b<bf16>(a, b, o); break;
    default: sums_b<float>(a, b, o); break;
  }
}

}  // namespace cpu

void norm_diff_and_norm(const TensorView& a, const TensorView& b, const TensorView& out,
                        const Stream& stream) {
  const Device& d = common_device("norm_diff_and_norm", stream, {&a, &b, &out});
  AUGUR_DISPATCH(d, norm_diff_and_norm, a, b, out, stream);
}

NormPair norm_diff_and_norm_host(const TensorView& a, const TensorView& b, const Stream& stream) {
  Tensor out = Tensor::empty(Shape{2}, DType::F64, stream.device(), &stream);
  norm_diff_and_norm(a, b, out, stream);
  double host[2] = {0, 0};
  copy(TensorView(host, DType::F64, Device::cpu(), Shape{2}), out, stream);
  stream.synchronize();
  return {host[0], host[1]};
}

}  // namespace augur::kernels
