#include "kernels/pool.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <sstream>

#include "kernels/bf16_emulation.h"
#include "kernels/dispatch.h"
#include "kernels/pool_math.h"
#include "kernels/profile.h"
#include "runtime/thread_pool.h"

namespace augur::kernels {

std::string MaxPoolParams::str() const {
  std::ostringstream os;
  os << "kernel " << kernel_h << "x" << kernel_w << ", stride " << stride_h << "x" << stride_w
     << ", padding " << pad_h << "x" << pad_w;
  return os.str();
}

Shape max_pool_output_shape(const Shape& x, const MaxPoolParams& p) {
  AUGUR_ARG_CHECK(x.rank() == 4, "max_pool: input shape ", x.str(), " is not NHWC (rank 4)");
  AUGUR_ARG_CHECK(p.kernel_h >= 1 && p.kernel_w >= 1 && p.stride_h >= 1 && p.stride_w >= 1 &&
                      p.pad_h >= 0 && p.pad_w >= 0,
                  "max_pool: invalid parameters (", p.str(), ")");
  // PyTorch's limit: with more padding a window could hold nothing but padding.
  AUGUR_ARG_CHECK(2 * p.pad_h <= p.kernel_h && 2 * p.pad_w <= p.kernel_w, "max_pool: padding (",
                  p.str(), ") exceeds half the kernel");
  const int64_t hp = x[1] + 2 * p.pad_h, wp = x[2] + 2 * p.pad_w;
  AUGUR_ARG_CHECK(hp >= p.kernel_h && wp >= p.kernel_w, "max_pool: the window (", p.str(),
                  ") is larger than the padded input ", x.str());
  return Shape::nhwc(x[0], (hp - p.kernel_h) / p.stride_h + 1, (wp - p.kernel_w) / p.stride_w + 1,
                     x[3]);
}

namespace detail {

void check_max_pool_forward(const TensorView& x, const TensorView& y, const TensorView& argmax,
                            const MaxPoolParams& params, bool allow_f64) {
  require_float("max_pool_forward", "x", x, allow_f64);
  const Shape out = max_pool_output_shape(x.shape(), params);
  AUGUR_ARG_CHECK(y.shape() == out && y.dtype() == x.dtype(), "max_pool_forward: y ", y.str(),
                  " does not match x ", x.str(), " pooled with ", params.str(), " (expected ",
                  out.str(), ")");
  AUGUR_ARG_CHECK(argmax.dtype() == DType::I32 && argmax.shape() == out,
                  "max_pool_forward: argmax ", argmax.str(), " must be i32", out.str());
  AUGUR_ARG_CHECK(x.h() * x.w() <= std::numeric_limits<int32_t>::max(),
                  "max_pool_forward: an HxW plane of ", x.str(), " does not fit i32 indices");
}

void check_max_pool_backward(const TensorView& dy, const TensorView& argmax, const TensorView& dx,
                             const MaxPoolParams& params, bool allow_f64) {
  require_float("max_pool_backward", "dy", dy, allow_f64);
  AUGUR_ARG_CHECK(dx.dtype() == dy.dtype(), "max_pool_backward: dx ", dx.str(), " and dy ",
                  dy.str(), " differ in dtype");
  const Shape out = max_pool_output_shape(dx.shape(), params);
  AUGUR_ARG_CHECK(dy.shape() == out, "max_pool_backward: dy ", dy.str(), " does not match dx ",
                  dx.str(), " pooled with ", params.str(), " (expected ", out.str(), ")");
  AUGUR_ARG_CHECK(argmax.dtype() == DType::I32 && argmax.shape() == out,
                  "max_pool_backward: argmax ", argmax.str(), " must be i32", out.str());
}

void check_global_avg_pool(const char* op, const TensorView& x, const TensorView& y,
                           bool allow_f64) {
  require_float(op, "input", x, allow_f64);
  AUGUR_ARG_CHECK(x.rank() == 4, op, ": ", x.str(), " is not NHWC (rank 4)");
  AUGUR_ARG_CHECK(y.dtype() == x.dtype() && y.shape() == Shape({x.n(), x.c()}), op, ": ", y.str(),
                  " does not match ", x.str(), " (expected [N, C] = [", x.n(), ", ", x.c(),
                  "] of the same dtype)");
}

}  // namespace detail

namespace {

// Items of work (output or input elements) per parallel chunk.
constexpr int64_t kGrain = 1 << 14;

int64_t rows_per_chunk(int64_t row_items) {
  return std::max<int64_t>(1, kGrain / std::max<int64_t>(1, row_items));
}

template <class T>
void max_pool_fwd(const TensorView& x, const TensorView& y, const TensorView& argmax,
                  const MaxPoolParams& p) {
  const int64_t H = x.h(), W = x.w(), C = x.c(), OH = y.h(), OW = y.w();
  const T* in = x.data<T>();
  T* out = y.data<T>();
  int32_t* arg = argmax.data<int32_t>();
  const auto rows = [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {  // r = n * OH + oh
      const int64_t n = r / OH, oh = r % OH;
      int64_t h1 = 0;
      const int64_t h0 = pool_window_begin(oh, p.stride_h, p.pad_h, p.kernel_h, H, &h1);
      for (int64_t ow = 0; ow < OW; ++ow) {
        int64_t w1 = 0;
        const int64_t w0 = pool_window_begin(ow, p.stride_w, p.pad_w, p.kernel_w, W, &w1);
        T* yo = out + (r * OW + ow) * C;
        int32_t* ao = arg + (r * OW + ow) * C;
        const int32_t first = static_cast<int32_t>(h0 * W + w0);
        for (int64_t c = 0; c < C; ++c) {
          yo[c] = -std::numeric_limits<T>::infinity();
          ao[c] = first;
        }
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) {
            const T* xi = in + ((n * H + h) * W + w) * C;
            const int32_t pos = static_cast<int32_t>(h * W + w);
            for (int64_t c = 0; c < C; ++c) {  // branch-free, so it vectorises
              const bool take = max_pool_takes(xi[c], yo[c]);
              yo[c] = take ? xi[c] : yo[c];
              ao[c] = take ? pos : ao[c];
            }
          }
      }
    }
  };
  ThreadPool::global().parallel_for(0, y.n() * OH, rows_per_chunk(OW * C), rows);
}

// Zero, then scatter each dy to the input it came from, in row-major output order: the same
// order in which the CUDA gather sums, so the two agree exactly.
template <class T>
void max_pool_bwd(const TensorView& dy, const TensorView& argmax, const TensorView& dx) {
  const int64_t HW = dx.h() * dx.w(), C = dx.c(), out_plane = dy.h() * dy.w() * C;
  const T* g = dy.data<T>();
  const int32_t* arg = argmax.data<int32_t>();
  T* gx = dx.data<T>();
  const auto samples = [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n) {
      T* gxn = gx + n * HW * C;
      std::fill(gxn, gxn + HW * C, T(0));
      const T* gn = g + n * out_plane;
      const int32_t* an = arg + n * out_plane;
      for (int64_t i = 0; i < out_plane; i += C)
        for (int64_t c = 0; c < C; ++c) {
          const int64_t pos = an[i + c];
          AUGUR_ARG_CHECK(pos >= 0 && pos < HW, "max_pool_backward: argmax ", pos,
                          " out of range for an HxW plane of ", HW, " (sample ", n, ")");
          gxn[pos * C + c] += gn[i + c];
        }
    }
  };
  ThreadPool::global().parallel_for(0, dx.n(), 1, samples);
}

template <class T>
void gap_fwd(const TensorView& x, const TensorView& y) {
  const int64_t HW = x.h() * x.w(), C = x.c();
  const T* in = x.data<T>();
  T* out = y.data<T>();
  const auto samples = [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n) {
      T* yn = out + n * C;
      std::fill(yn, yn + C, T(0));
      for (int64_t i = 0; i < HW; ++i) {  // ascending HW order, as on the GPU
        const T* xi = in + (n * HW + i) * C;
        for (int64_t c = 0; c < C; ++c) yn[c] += xi[c];
      }
      for (int64_t c = 0; c < C; ++c) yn[c] = avg_pool_value(yn[c], HW);
    }
  };
  ThreadPool::global().parallel_for(0, x.n(), rows_per_chunk(HW * C), samples);
}

template <class T>
void gap_bwd(const TensorView& dy, const TensorView& dx) {
  const int64_t HW = dx.h() * dx.w(), C = dx.c();
  const T* g = dy.data<T>();
  T* gx = dx.data<T>();
  const auto rows = [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {  // r = n * HW + hw
      const T* gn = g + (r / HW) * C;
      T* o = gx + r * C;
      for (int64_t c = 0; c < C; ++c) o[c] = avg_pool_grad(gn[c], HW);
    }
  };
  ThreadPool::global().parallel_for(0, dx.n() * HW, rows_per_chunk(C), rows);
}

}  // namespace

namespace cpu {

void max_pool_forward(const TensorView& x, const TensorView& y, const TensorView& argmax,
                      const MaxPoolParams& params, const Stream& stream) {
  if (any_bf16({&x, &y})) {
    require_bf16_mix("max_pool_forward", {{"x", &x}, {"y", &y}});
    Bf16Staging st(stream);
    cpu::max_pool_forward(st.in(x), st.out(y), argmax, params, stream);
    return st.finish();
  }
  const profile::Scope scope(profile::Op::Pool);
  detail::check_max_pool_forward(x, y, argmax, params, true);
  if (x.dtype() == DType::F64)
    max_pool_fwd<double>(x, y, argmax, params);
  else
    max_pool_fwd<float>(x, y, argmax, params);
}

void max_pool_backward(const TensorView& dy, const TensorView& argmax, const TensorView& dx,
                       const MaxPoolParams& params, const Stream& stream) {
  if (any_bf16({&dy, &dx})) {
    require_bf16_mix("max_pool_backward", {{"dy", &dy}, {"dx", &dx}});
    Bf16Staging st(stream);
    cpu::max_pool_backward(st.in(dy), argmax, st.out(dx), params, stream);
    return st.finish();
  }
  const profile::Scope scope(profile::Op::Pool);
  detail::check_max_pool_backward(dy, argmax, dx, params, true);
  if (dy.dtype() == DType::F64)
    max_pool_bwd<double>(dy, argmax, dx);
  else
    max_pool_bwd<float>(dy, argmax, dx);
}

void global_avg_pool_forward(const TensorView& x, const TensorView& y, const Stream& stream) {
  if (any_bf16({&x, &y})) {
    require_bf16_mix("global_avg_pool_forward", {{"x", &x}, {"y", &y}});
    Bf16Staging st(stream);
    cpu::global_avg_pool_forward(st.in(x), st.out(y), stream);
    return st.finish();
  }
  const profile::Scope scope(profile::Op::Pool);
  detail::check_global_avg_pool("global_avg_pool_forward", x, y, true);
  if (x.dtype() == DType::F64)
    gap_fwd<double>(x, y);
  else
    gap_fwd<float>(x, y);
}

void global_avg_pool_backward(const TensorView& dy, const TensorView& dx, const Stream& stream) {
  if (any_bf16({&dy, &dx})) {
    require_bf16_mix("global_avg_pool_backward", {{"dy", &dy}, {"dx", &dx}});
    Bf16Staging st(stream);
    cpu::global_avg_pool_backward(st.in(dy), st.out(dx), stream);
    return st.finish();
  }
  const profile::Scope scope(profile::Op::Pool);
  detail::check_global_avg_pool("global_avg_pool_backward", dx, dy, true);
  if (dx.dtype() == DType::F64)
    gap_bwd<double>(dy, dx);
  else
    gap_bwd<float>(dy, dx);
}

}  // namespace cpu

void max_pool_forward(const TensorView& x, const TensorView& y, const TensorView& argmax,
                      const MaxPoolParams& params, const Stream& stream) {
  const Device& d = common_device("max_pool_forward", stream, {&x, &y, &argmax});
  AUGUR_DISPATCH(d, max_pool_forward, x, y, argmax, params, stream);
}

void max_pool_backward(const TensorView& dy, const TensorView& argmax, const TensorView& dx,
                       const MaxPoolParams& params, const Stream& stream) {
  const Device& d = common_device("max_pool_backward", stream, {&dy, &argmax, &dx});
  AUGUR_DISPATCH(d, max_pool_backward, dy, argmax, dx, params, stream);
}

void global_avg_pool_forward(const TensorView& x, const TensorView& y, const Stream& stream) {
  const Device& d = common_device("global_avg_pool_forward", stream, {&x, &y});
  AUGUR_DISPATCH(d, global_avg_pool_forward, x, y, stream);
}

void global_avg_pool_backward(const TensorView& dy, const TensorView& dx, const Stream& stream) {
  const Device& d = common_device("global_avg_pool_backward", stream, {&dy, &dx});
  AUGUR_DISPATCH(d, global_avg_pool_backward, dy, dx, stream);
}

}  // namespace augur::kernels
