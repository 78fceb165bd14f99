#include "kernels/conv.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "kernels/bf16_emulation.h"
#include "kernels/conv_direct.h"
#include "kernels/conv_geometry.h"
#include "kernels/cpu_gemm.h"
#include "kernels/dispatch.h"
#include "kernels/im2col.h"
#include "kernels/profile.h"
#include "runtime/buffer.h"
#include "runtime/thread_pool.h"

namespace augur::kernels {

namespace {

// AUGUR_CPU_DIRECT_CONV=0 starts a process with the direct kernels off.
bool direct_conv_default() {
  const char* env = std::getenv("AUGUR_CPU_DIRECT_CONV");
  return env == nullptr || std::strcmp(env, "0") != 0;
}

std::atomic<bool> g_direct_conv{direct_conv_default()};

Shape output_shape(const char* op, const Shape& x, const Shape& w, const ConvParams& p) {
  AUGUR_ARG_CHECK(x.rank() == 4 && w.rank() == 4, op, ": input ", x.str(), " and filters ", w.str(),
                  " must both be rank 4 (NHWC input, KRSC filters)");
  AUGUR_ARG_CHECK(x[3] == w[3], op, ": input ", x.str(), " has ", x[3], " channels but filters ",
                  w.str(), " expect ", w[3]);
  AUGUR_ARG_CHECK(p.stride_h >= 1 && p.stride_w >= 1 && p.pad_h >= 0 && p.pad_w >= 0, op,
                  ": strides (", p.stride_h, ", ", p.stride_w, ") must be >= 1 and padding (",
                  p.pad_h, ", ", p.pad_w, ") >= 0");
  AUGUR_ARG_CHECK(w[0] >= 1 && w[1] >= 1 && w[2] >= 1 && w[3] >= 1, op, ": filters ", w.str(),
                  " must have every dimension >= 1");
  const int64_t hp = x[1] + 2 * int64_t(p.pad_h), wp = x[2] + 2 * int64_t(p.pad_w);
  AUGUR_ARG_CHECK(hp >= w[1] && wp >= w[2], op, ": filters ", w.str(), " do not fit the input ",
                  x.str(), " padded by (", p.pad_h, ", ", p.pad_w, ")");
  return Shape::nhwc(x[0], (hp - w[1]) / p.stride_h + 1, (wp - w[2]) / p.stride_w + 1, w[0]);
}

}  // namespace

Shape conv_output_shape(const Shape& x, const Shape& w, const ConvParams& params) {
  return output_shape("conv", x, w, params);
}

namespace cpu::direct {
// Here rather than in conv_direct_avx512.cpp: the check must run on any CPU.
bool available() {
  static const bool has = __builtin_cpu_supports("avx512f") != 0;
  return has;
}
}  // namespace cpu::direct

void set_cpu_direct_conv(bool enabled) {
  g_direct_conv.store(enabled, std::memory_order_relaxed);
}

bool cpu_direct_conv_active() {
  return g_direct_conv.load(std::memory_order_relaxed) && cpu::direct::available();
}

namespace detail {

void check_conv(const char* op, const TensorView& x, const TensorView& w, const TensorView& y,
                const ConvParams& p, bool allow_f64, const char* x_name, const char* w_name,
                const char* y_name) {
  require_float(op, x_name, x, allow_f64);
  AUGUR_ARG_CHECK(w.dtype() == x.dtype() && y.dtype() == x.dtype(), op, ": dtypes differ: ", x_name,
                  " ", x.str(), ", ", w_name, " ", w.str(), ", ", y_name, " ", y.str());
  const Shape expected = output_shape(op, x.shape(), w.shape(), p);
  AUGUR_ARG_CHECK(y.shape() == expected, op, ": ", y_name, " ", y.str(), " should have shape ",
                  expected.str(), " for ", x_name, " ", x.str(), " and ", w_name, " ", w.str(),
                  " (stride ", p.stride_h, "x", p.stride_w, ", pad ", p.pad_h, "x", p.pad_w, ")");
}

}  // namespace detail

namespace cpu {

namespace {

using cpu_gemm::gemm;
using cpu_gemm::parallel_gemm;

// GEMM tiles. A tile has at least kMinTileRows output pixels, so that OpenBLAS's packing
// of the filters (once per call) is amortised: with 512x4608 filters one Sapphire Rapids
// core ran 28-row tiles at ~80 GFLOP/s and 256-row tiles at ~145. Where rows are narrow, a
// tile holds about kTileBytes of input (the column matrix, or the input itself for 1x1), so
// im2col's output is still in L2 when the GEMM packs it.
constexpr int64_t kTileBytes = int64_t(512) << 10;
constexpr int64_t kMinTileRows = 256;
// Fewer output pixels per thread than this, and the work is split inside each GEMM instead
// of across tiles (deep layers of small images: few pixels, wide filters).
constexpr int64_t kMinRowsPerTask = 128;
// Cap on the column tiles of the split-inside-GEMM path, where each thread's share of a
// tile should itself be a good GEMM tile.
constexpr int64_t kWideTileElems = int64_t(1) << 22;
// Elements per task for the memory-bound loops.
constexpr int64_t kCopyGrain = int64_t(1) << 15;

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

ConvGeometry geometry(const TensorView& x, const TensorView& w, const TensorView& y,
                      const ConvParams& p) {
  return {x.n(), x.h(), x.w(),      x.c(),      w.n(),   w.h(),  w.w(),
          y.h(), y.w(), p.stride_h, p.stride_w, p.pad_h, p.pad_w};
}

// `width`: values per row of the tile's input operand.
template <class T>
int64_t tile_rows(int64_t width) {
  return std::max<int64_t>(kMinTileRows, kTileBytes / (width * int64_t(sizeof(T))));
}

bool split_across_tiles(int64_t rows) {
  const int64_t threads = ThreadPool::global().size();
  return threads > 1 && rows >= threads * kMinRowsPerTask;
}

template <class T>
void im2col_parallel(const ConvGeometry& g, const T* x, int64_t m0, int64_t m1, T* cols) {
  const int64_t grain = std::max<int64_t>(1, kCopyGrain / g.patch());
  ThreadPool::global().parallel_for(m0, m1, grain, [&](int64_t lo, int64_t hi) {
    im2col(g, x, lo, hi, cols + (lo - m0) * g.patch());
  });
}

template <class T>
void zero_fill(T* p, int64_t n) {
  ThreadPool::global().parallel_for(
      0, n, kCopyGrain, [&](int64_t lo, int64_t hi) { std::fill(p + lo, p + hi, T(0)); });
}

// The input operand of a tile's GEMM: x itself for a pointwise conv, else the tile's
// column matrix built in `cols`.
template <class T>
const T* columns(const ConvGeometry& g, const T* x, int64_t m0, int64_t m1, T* cols) {
  if (g.pointwise()) return x + m0 * g.c;
  im2col_parallel(g, x, m0, m1, cols);
  return cols;
}

// Values per row of a tile's input operand, and of its column scratch (0: none needed).
int64_t tile_width(const ConvGeometry& g) {
  return g.pointwise() ? std::max(g.c, g.k) : g.patch();
}
int64_t scratch_width(const ConvGeometry& g) {
  return g.pointwise() ? 0 : g.patch();
}

// Runs fn(m0, m1, cols) over tiles covering output pixels [0, rows), `cols` holding room
// for scratch_width values per row. Many pixels: tiles run in parallel (and everything fn
// calls runs inline in its task). Few pixels: tiles run one after another and fn's own
// parallel_for / parallel_gemm split each tile's work.
template <class T, class Fn>
void for_each_tile(const ConvGeometry& g, Fn fn) {
  ThreadPool& pool = ThreadPool::global();
  const int64_t rows = g.pixels(), width = tile_width(g), scratch = scratch_width(g);
  if (split_across_tiles(rows)) {
    const int64_t threads = pool.size();
    const int64_t wanted = ceil_div(ceil_div(rows, tile_rows<T>(width)), threads) * threads;
    const int64_t tile = ceil_div(rows, wanted);
    pool.parallel_for(0, ceil_div(rows, tile), 1, [&](int64_t lo, int64_t hi) {
      Buffer cols(Device::cpu(), size_t(tile * scratch) * sizeof(T));
      for (int64_t t = lo; t < hi; ++t) fn(t * tile, std::min(rows, (t + 1) * tile), cols.as<T>());
    });
    return;
  }
  const int64_t wide = std::min(pool.size() * tile_rows<T>(width), kWideTileElems / width);
  const int64_t tile = std::min(rows, std::max(tile_rows<T>(width), wide));
  Buffer cols(Device::cpu(), size_t(tile * scratch) * sizeof(T));
  for (int64_t m0 = 0; m0 < rows; m0 += tile) fn(m0, std::min(rows, m0 + tile), cols.as<T>());
}

template <class T>
void forward_core(const ConvGeometry& g, const T* x, const T* w, T* y) {
  const int64_t patch = g.patch();
  for_each_tile<T>(g, [&](int64_t m0, int64_t m1, T* cols) {
    const T* a = columns(g, x, m0, m1, cols);
    parallel_gemm<T>(false, true, m1 - m0, g.k, patch, 1, a, patch, w, patch, 0, y + m0 * g.k, g.k);
  });
}

template <class T>
void backward_data_core(const ConvGeometry& g, const T* dy, const T* w, T* dx) {
  const int64_t rows = g.pixels(), patch = g.patch();
  if (g.pointwise()) {  // dx rows are the GEMM's output rows: tiles never overlap
    for_each_tile<T>(g, [&](int64_t m0, int64_t m1, T*) {
      parallel_gemm<T>(false, false, m1 - m0, g.c, g.k, 1, dy + m0 * g.k, g.k, w, g.c, 0,
                       dx + m0 * g.c, g.c);
    });
    return;
  }
  ThreadPool& pool = ThreadPool::global();
  zero_fill(dx, g.n * g.h * g.w * g.c);
  if (!split_across_tiles(rows)) {
    for_each_tile<T>(g, [&](int64_t m0, int64_t m1, T* cols) {
      parallel_gemm<T>(false, false, m1 - m0, patch, g.k, 1, dy + m0 * g.k, g.k, w, patch, 0, cols,
                       patch);
      col2im_add(g, cols, m0, m1, dx);
    });
    return;
  }
  // Tile = band of whole output rows (of the batch's N*P). A band of b rows adds into
  // (b-1)*sh + R input rows, so bands two apart are disjoint once b*sh > R-1-sh: even bands
  // run in parallel, then odd bands.
  const int64_t out_rows = g.n * g.p, threads = pool.size();
  const int64_t min_band = g.r - 1 - g.sh >= 0 ? (g.r - 1 - g.sh) / g.sh + 1 : 1;
  const int64_t wanted = ceil_div(ceil_div(rows, tile_rows<T>(patch)), 2 * threads) * (2 * threads);
  const int64_t band = std::max(min_band, ceil_div(out_rows, wanted));
  const int64_t bands = ceil_div(out_rows, band);
  for (int64_t parity = 0; parity < 2; ++parity) {
    pool.parallel_for(0, (bands - parity + 1) / 2, 1, [&](int64_t lo, int64_t hi) {
      Buffer cols(Device::cpu(), size_t(band * g.q * patch) * sizeof(T));
      for (int64_t i = lo; i < hi; ++i) {
        const int64_t b = 2 * i + parity;
        const int64_t m0 = b * band * g.q, m1 = std::min(out_rows, (b + 1) * band) * g.q;
        gemm<T>(false, false, m1 - m0, patch, g.k, 1, dy + m0 * g.k, g.k, w, patch, 0, cols.as<T>(),
                patch);
        col2im_add(g, cols.as<T>(), m0, m1, dx);
      }
    });
  }
}

template <class T>
void backward_filter_core(const ConvGeometry& g, const T* x, const T* dy, T* dw) {
  const int64_t rows = g.pixels(), patch = g.patch(), dw_size = g.k * patch;
  ThreadPool& pool = ThreadPool::global();
  if (!split_across_tiles(rows)) {
    for_each_tile<T>(g, [&](int64_t m0, int64_t m1, T* cols) {
      const T* a = columns(g, x, m0, m1, cols);
      parallel_gemm<T>(true, false, g.k, patch, m1 - m0, 1, dy + m0 * g.k, g.k, a, patch, 1, dw,
                       patch);
    });
    return;
  }
  // Each chunk of pixels sums into its own dW (chunk 0 straight into dw), then the partial
  // sums are added: no two threads ever write the same element.
  const int64_t chunks = std::min<int64_t>(pool.size(), rows / kMinRowsPerTask);
  const int64_t tile = tile_rows<T>(tile_width(g));
  Buffer partial(Device::cpu(), size_t((chunks - 1) * dw_size) * sizeof(T));
  T* partials = partial.as<T>();
  pool.parallel_for(0, chunks, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t chunk = lo; chunk < hi; ++chunk) {
      T* acc = chunk == 0 ? dw : partials + (chunk - 1) * dw_size;
      T beta = chunk == 0 ? T(1) : T(0);
      const int64_t c0 = rows * chunk / chunks, c1 = rows * (chunk + 1) / chunks;
      Buffer cols(Device::cpu(), size_t(std::min(tile, c1 - c0) * scratch_width(g)) * sizeof(T));
      for (int64_t m0 = c0; m0 < c1; m0 += tile) {
        const int64_t m1 = std::min(c1, m0 + tile);
        const T* a = columns(g, x, m0, m1, cols.as<T>());
        gemm<T>(true, false, g.k, patch, m1 - m0, 1, dy + m0 * g.k, g.k, a, patch, beta, acc,
                patch);
        beta = T(1);
      }
    }
  });
  pool.parallel_for(0, dw_size, kCopyGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t chunk = 1; chunk < chunks; ++chunk) {
      const T* src = partials + (chunk - 1) * dw_size;
      for (int64_t i = lo; i < hi; ++i) dw[i] += src[i];
    }
  });
}

// ---- Direct kernels for narrow layers (conv_direct.h) ----

// Input channels above this stay on the GEMM path, whose reduction over R*S*C is long
// enough there to run near the GEMM's peak.
constexpr int64_t kDirectMaxInputs = 64;
// Bytes of padded input per band: a band's rows stay in L2 while its outputs are computed.
constexpr int64_t kBandBytes = int64_t(32) << 10;

bool direct_fits(const ConvGeometry& g, int64_t outputs, int64_t inputs) {
  return cpu_direct_conv_active() && g.r * g.s > 1 && direct::supports_outputs(outputs) &&
         inputs <= kDirectMaxInputs;
}

// What a direct correlation reads: `src` [n, h, w, c], unpadded, seen through `shape` (the
// padded input's rows and columns, the filters, the output) with `top` rows and `left`
// columns of zeros before it.
struct Correlation {
  const float* src;
  int64_t h, w, top, left;
  direct::Shape shape;
};

// The input of the forward (and filter-gradient) correlation: x padded as the conv pads it,
// cut to the rows and columns the output reads.
Correlation forward_correlation(const ConvGeometry& g, const float* x) {
  return {x,
          g.h,
          g.w,
          g.ph,
          g.pw,
          {g.n, (g.p - 1) * g.sh + g.r, (g.q - 1) * g.sw + g.s, g.c, g.k, g.r, g.s, g.p, g.q, g.sh,
           g.sw}};
}

// Bands of output rows within one image, about kBandBytes of padded input each, per_image
// of them (of near-equal size) per image; band b belongs to image b / per_image.
struct Bands {
  int64_t per_image, count;
};
Bands bands_of(const direct::Shape& d) {
  const int64_t row_bytes = d.wp * d.c * int64_t(sizeof(float));
  const int64_t in_rows = std::max<int64_t>(d.r, kBandBytes / row_bytes);
  const int64_t out_rows = std::max<int64_t>(1, (in_rows - d.r) / d.sh + 1);
  const int64_t per_image = ceil_div(d.p, out_rows);
  return {per_image, d.n * per_image};
}

// Band b padded into `scratch`; returns the band's own correlation shape (one image, its
// rows) and sets `first_row`, the band's first row among the batch's N*P output rows.
direct::Shape pad_band(const Correlation& cr, const Bands& bands, int64_t b, float* scratch,
                       int64_t* first_row) {
  const direct::Shape& d = cr.shape;
  const int64_t img = b / bands.per_image, i = b % bands.per_image;
  const int64_t p0 = d.p * i / bands.per_image, p1 = d.p * (i + 1) / bands.per_image;
  const int64_t rows = (p1 - p0 - 1) * d.sh + d.r, c = d.c, row_len = d.wp * c;
  const int64_t cols = std::max<int64_t>(0, std::min(cr.w, d.wp - cr.left));
  for (int64_t j = 0; j < rows; ++j) {
    const int64_t src_row = p0 * d.sh + j - cr.top;
    float* dst = scratch + j * row_len;
    if (src_row < 0 || src_row >= cr.h) {
      std::fill_n(dst, row_len, 0.f);
      continue;
    }
    std::fill_n(dst, cr.left * c, 0.f);
    std::copy_n(cr.src + ((img * cr.h + src_row) * cr.w) * c, cols * c, dst + cr.left * c);
    std::fill_n(dst + (cr.left + cols) * c, row_len - (cr.left + cols) * c, 0.f);
  }
  *first_row = img * d.p + p0;
  direct::Shape band = d;
  band.n = 1;
  band.hp = rows;
  band.p = p1 - p0;
  return band;
}

int64_t band_scratch_floats(const direct::Shape& d, const Bands& bands) {
  return ((ceil_div(d.p, bands.per_image) - 1) * d.sh + d.r) * d.wp * d.c;
}

// out = the correlation, band by band in parallel.
void correlate(const Correlation& cr, const float* wt, float* out) {
  const direct::Shape& d = cr.shape;
  const Bands bands = bands_of(d);
  const int64_t scratch = band_scratch_floats(d, bands);
  ThreadPool::global().parallel_for(0, bands.count, 1, [&](int64_t lo, int64_t hi) {
    Buffer buf(Device::cpu(), size_t(scratch) * sizeof(float));
    for (int64_t b = lo; b < hi; ++b) {
      int64_t row0 = 0;
      const direct::Shape band = pad_band(cr, bands, b, buf.as<float>(), &row0);
      direct::correlate_rows(band, buf.as<const float>(), wt, out + row0 * d.q * d.k, 0, band.p);
    }
  });
}

void direct_forward(const ConvGeometry& g, const float* x, const float* w, float* y) {
  const int64_t patch = g.patch();
  Buffer wt(Device::cpu(), size_t(patch * g.k) * sizeof(float));  // KRSC -> RSCK
  for (int64_t k = 0; k < g.k; ++k)
    for (int64_t j = 0; j < patch; ++j) wt.as<float>()[j * g.k + k] = w[k * patch + j];
  correlate(forward_correlation(g, x), wt.as<const float>(), y);
}

// At stride 1, dx is the correlation of dy, padded by R-1-ph rows and S-1-pw columns, with
// the filters turned by 180 degrees and their channel roles swapped:
//   dx[n, h, w, c] = sum_{r, s, k} dy[n, h + ph - r, w + pw - s, k] * w[k, r, s, c].
bool direct_backward_data_fits(const ConvGeometry& g) {
  return g.sh == 1 && g.sw == 1 && g.ph <= g.r - 1 && g.pw <= g.s - 1 && direct_fits(g, g.c, g.k);
}

void direct_backward_data(const ConvGeometry& g, const float* dy, const float* w, float* dx) {
  Buffer wt(Device::cpu(), size_t(g.patch() * g.k) * sizeof(float));
  float* t = wt.as<float>();
  for (int64_t k = 0; k < g.k; ++k)
    for (int64_t r = 0; r < g.r; ++r)
      for (int64_t s = 0; s < g.s; ++s)
        for (int64_t c = 0; c < g.c; ++c)
          t[(((g.r - 1 - r) * g.s + (g.s - 1 - s)) * g.k + k) * g.c + c] =
              w[((k * g.r + r) * g.s + s) * g.c + c];
  const Correlation cr{dy,
                       g.p,
                       g.q,
                       g.r - 1 - g.ph,
                       g.s - 1 - g.pw,
                       {g.n, g.h + g.r - 1, g.w + g.s - 1, g.k, g.c, g.r, g.s, g.h, g.w, 1, 1}};
  correlate(cr, t, dx);
}

// The bands split into one contiguous run per thread; each run sums into its own RSCK
// buffer, and the runs are added into dw in order.
void direct_backward_filter(const ConvGeometry& g, const float* x, const float* dy, float* dw) {
  const Correlation cr = forward_correlation(g, x);
  const direct::Shape& d = cr.shape;
  const Bands bands = bands_of(d);
  const int64_t scratch = band_scratch_floats(d, bands), patch = g.patch(), size = patch * g.k;
  const int64_t runs = std::min<int64_t>(ThreadPool::global().size(), bands.count);
  Buffer partial(Device::cpu(), size_t(runs * size) * sizeof(float));
  float* parts = partial.as<float>();
  ThreadPool::global().parallel_for(0, runs, 1, [&](int64_t lo, int64_t hi) {
    Buffer buf(Device::cpu(), size_t(scratch) * sizeof(float));
    for (int64_t run = lo; run < hi; ++run) {
      float* acc = parts + run * size;
      std::fill_n(acc, size, 0.f);
      for (int64_t b = bands.count * run / runs; b < bands.count * (run + 1) / runs; ++b) {
        int64_t row0 = 0;
        const direct::Shape band = pad_band(cr, bands, b, buf.as<float>(), &row0);
        direct::filter_grad_rows(band, buf.as<const float>(), dy + row0 * d.q * d.k, acc, 0,
                                 band.p);
      }
    }
  });
  for (int64_t run = 0; run < runs; ++run)
    for (int64_t k = 0; k < g.k; ++k)
      for (int64_t j = 0; j < patch; ++j) dw[k * patch + j] += parts[run * size + j * g.k + k];
}

template <class T>
void forward_impl(const ConvGeometry& g, const T* x, const T* w, T* y) {
  if constexpr (std::is_same_v<T, float>)
    if (direct_fits(g, g.k, g.c)) return direct_forward(g, x, w, y);
  const Crop c = crop(g);
  if (c.empty) return zero_fill(y, g.pixels() * g.k);
  if (!c.active) return forward_core(g, x, w, y);
  Buffer packed(Device::cpu(), size_t(g.k * c.g.patch()) * sizeof(T));
  pack_taps(g, c, w, packed.as<T>());
  forward_core(c.g, x, packed.as<const T>(), y);
}

template <class T>
void backward_data_impl(const ConvGeometry& g, const T* dy, const T* w, T* dx) {
  if constexpr (std::is_same_v<T, float>)
    if (direct_backward_data_fits(g)) return direct_backward_data(g, dy, w, dx);
  const Crop c = crop(g);
  if (c.empty) return zero_fill(dx, g.n * g.h * g.w * g.c);
  if (!c.active) return backward_data_core(g, dy, w, dx);
  Buffer packed(Device::cpu(), size_t(g.k * c.g.patch()) * sizeof(T));
  pack_taps(g, c, w, packed.as<T>());
  backward_data_core(c.g, dy, packed.as<const T>(), dx);
}

template <class T>
void backward_filter_impl(const ConvGeometry& g, const T* x, const T* dy, T* dw) {
  if constexpr (std::is_same_v<T, float>)
    if (direct_fits(g, g.k, g.c)) return direct_backward_filter(g, x, dy, dw);
  const Crop c = crop(g);
  if (c.empty) return;
  if (!c.active) return backward_filter_core(g, x, dy, dw);
  Buffer packed(Device::cpu(), size_t(g.k * c.g.patch()) * sizeof(T));
  std::fill_n(packed.as<T>(), g.k * c.g.patch(), T(0));
  backward_filter_core(c.g, x, dy, packed.as<T>());
  unpack_add_taps(g, c, packed.as<const T>(), dw);
}

}  // namespace

void conv_forward(const TensorView& x, const TensorView& w, const TensorView& y,
                  const ConvParams& params, const Stream& stream) {
  if (any_bf16({&x, &w, &y})) {
    require_bf16_mix("conv_forward", {{"x", &x}, {"w", &w}, {"y", &y}});
    Bf16Staging st(stream);
    cpu::conv_forward(st.in(x), st.in(w), st.out(y), params, stream);
    return st.finish();
  }
  const profile::Scope scope(profile::Op::ConvForward);
  detail::check_conv("conv_forward", x, w, y, params, true);
  const ConvGeometry g = geometry(x, w, y, params);
  if (y.numel() == 0) return;
  if (x.dtype() == DType::F64)
    forward_impl(g, x.data<double>(), w.data<double>(), y.data<double>());
  else
    forward_impl(g, x.data<float>(), w.data<float>(), y.data<float>());
}

void conv_backward_data(const TensorView& dy, const TensorView& w, const TensorView& dx,
                        const ConvParams& params, const Stream& stream) {
  if (any_bf16({&dy, &w, &dx})) {
    require_bf16_mix("conv_backward_data", {{"dy", &dy}, {"w", &w}, {"dx", &dx}});
    Bf16Staging st(stream);
    cpu::conv_backward_data(st.in(dy), st.in(w), st.out(dx), params, stream);
    return st.finish();
  }
  const profile::Scope scope(profile::Op::ConvBackwardData);
  detail::check_conv("conv_backward_data", dx, w, dy, params, true, "dx", "w", "dy");
  const ConvGeometry g = geometry(dx, w, dy, params);
  if (dx.numel() == 0) return;
  if (dx.dtype() == DType::F64)
    backward_data_impl(g, dy.data<double>(), w.data<double>(), dx.data<double>());
  else
    backward_data_impl(g, dy.data<float>(), w.data<float>(), dx.data<float>());
}

void conv_backward_filter(const TensorView& x, const TensorView& dy, const TensorView& dw,
                          const ConvParams& params, const Stream& stream) {
  if (any_bf16({&x, &dy, &dw})) {
    // The filter gradient accumulates into the f32 gradient arena.
    require_bf16_mix("conv_backward_filter", {{"x", &x}, {"dy", &dy}}, {{"dw", &dw}});
    Bf16Staging st(stream);
    cpu::conv_backward_filter(st.in(x), st.in(dy), dw, params, stream);
    return st.finish();
  }
  const profile::Scope scope(profile::Op::ConvBackwardFilter);
  detail::check_conv("conv_backward_filter", x, dw, dy, params, true, "x", "dw", "dy");
  const ConvGeometry g = geometry(x, dw, dy, params);
  if (dy.numel() == 0) return;
  if (x.dtype() == DType::F64)
    backward_filter_impl(g, x.data<double>(), dy.data<double>(), dw.data<double>());
  else
    backward_filter_impl(g, x.data<float>(), dy.data<float>(), dw.data<float>());
}

}  // namespace cpu

void conv_forward(const TensorView& x, const TensorView& w, const TensorView& y,
                  const ConvParams& params, const Stream& stream) {
  const Device& d = common_device("conv_forward", stream, {&x, &w, &y});
  AUGUR_DISPATCH(d, conv_forward, x, w, y, params, stream);
}

void conv_backward_data(const TensorView& dy, const TensorView& w, const TensorView& dx,
                        const ConvParams& params, const Stream& stream) {
  const Device& d = common_device("conv_backward_data", stream, {&dy, &w, &dx});
  AUGUR_DISPATCH(d, conv_backward_data, dy, w, dx, params, stream);
}

void conv_backward_filter(const TensorView& x, const TensorView& dy, const TensorView& dw,
                          const ConvParams& params, const Stream& stream) {
  const Device& d = common_device("conv_backward_filter", stream, {&x, &dy, &dw});
  AUGUR_DISPATCH(d, conv_backward_filter, x, dy, dw, params, stream);
}

}  // namespace augur::kernels
