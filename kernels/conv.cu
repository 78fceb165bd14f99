// Convolutions on CUDA through cuDNN's convolution API (NHWC tensors, KRSC filters), f32 or
// bf16. bf16 runs cuDNN's bf16 configuration (bf16 tensors, f32 compute, tensor cores). Its
// backward filter needs every tensor bf16, so the filter gradient is computed into a bf16
// scratch and accumulated into the f32 gradient arena: one bf16 rounding of each call's
// gradient (as PyTorch's autocast does), where the CPU emulation keeps that gradient f32.
#include <cudnn.h>

#include <algorithm>
#include <climits>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "kernels/conv.h"
#include "kernels/cuda_bf16.h"
#include "kernels/cuda_launch.cuh"
#include "kernels/gpu_math.h"
#include "runtime/buffer.h"
#include "runtime/context.h"
#include "runtime/cuda_check.h"

// cuDNN 9 marks its fixed-function convolution API deprecated in favour of the graph API
// (the warnings appear when CUDNN_WARN_DEPRECATED is defined). The API is present and
// supported in cuDNN 9 and is all a fixed-shape 2-D convolution needs, so the warnings are
// silenced for this file alone.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#pragma nv_diagnostic push
#pragma nv_diag_suppress 1215, 1444

namespace augur::kernels::cuda {

namespace {

// Algorithms needing more scratch than this are passed over: 1/32 of the device's memory, at
// least 256 MiB (4.4 GiB on an H200). Fixed per device, so the choice does not depend on what
// else happens to be allocated when a shape is first seen; sized by the device because the
// fast FMA algorithms' scratch grows with the batch (under a fixed 256 MiB, strict f32
// ResNet-50 at batch 256 on an H200 ran at a quarter of its batch-64 speed per image, most
// likely for want of scratch; not yet re-measured with this limit).
// Asked once per shape (on a miss of the algorithm cache), so not cached itself.
size_t max_workspace_bytes(const Device& device) {
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, device.index));
  return std::max(size_t(256) << 20, size_t(prop.totalGlobalMem) / 32);
}

enum class Op { Forward, BackwardData, BackwardFilter };

int as_int(int64_t v, const char* op) {
  AUGUR_ARG_CHECK(v >= 0 && v <= INT_MAX, op, ": dimension ", v, " too large for cuDNN");
  return static_cast<int>(v);
}

// cuDNN descriptors of one call, destroyed with it.
class Descriptors {
 public:
  Descriptors(const char* op, const Shape& x, const Shape& w, const Shape& y, const ConvParams& p,
              cudnnMathType_t math, cudnnDataType_t data) {
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&x_));
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&y_));
    CUDNN_CHECK(cudnnCreateFilterDescriptor(&w_));
    CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv_));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(x_, CUDNN_TENSOR_NHWC, data, as_int(x[0], op),
                                           as_int(x[3], op), as_int(x[1], op), as_int(x[2], op)));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(y_, CUDNN_TENSOR_NHWC, data, as_int(y[0], op),
                                           as_int(y[3], op), as_int(y[1], op), as_int(y[2], op)));
    // NHWC filter format = KRSC: [out channels, rows, cols, in channels].
    CUDNN_CHECK(cudnnSetFilter4dDescriptor(w_, data, CUDNN_TENSOR_NHWC, as_int(w[0], op),
                                           as_int(w[3], op), as_int(w[1], op), as_int(w[2], op)));
    CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv_, p.pad_h, p.pad_w, p.stride_h, p.stride_w, 1,
                                                1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    set_math(math);
  }
  ~Descriptors() {
    if (conv_) (void)cudnnDestroyConvolutionDescriptor(conv_);
    if (w_) (void)cudnnDestroyFilterDescriptor(w_);
    if (y_) (void)cudnnDestroyTensorDescriptor(y_);
    if (x_) (void)cudnnDestroyTensorDescriptor(x_);
  }
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;

  void set_math(cudnnMathType_t math) { CUDNN_CHECK(cudnnSetConvolutionMathType(conv_, math)); }
  cudnnTensorDescriptor_t x() const { return x_; }
  cudnnTensorDescriptor_t y() const { return y_; }
  cudnnFilterDescriptor_t w() const { return w_; }
  cudnnConvolutionDescriptor_t conv() const { return conv_; }

 private:
  cudnnTensorDescriptor_t x_ = nullptr, y_ = nullptr;
  cudnnFilterDescriptor_t w_ = nullptr;
  cudnnConvolutionDescriptor_t conv_ = nullptr;
};

struct Choice {
  int algo = 0;
  cudnnMathType_t math = CUDNN_FMA_MATH;
  size_t workspace = 0;
};

using Key = std::tuple<int, int, std::vector<int64_t>, bool, bool, bool, bool>;

class AlgoCache {
 public:
  bool find(const Key& key, Choice* out) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = map_.find(key);
    if (it == map_.end()) return false;
    *out = it->second;
    return true;
  }
  void insert(const Key& key, const Choice& c) {
    std::lock_guard<std::mutex> lock(mutex_);
    map_.emplace(key, c);
  }

 private:
  std::mutex mutex_;
  std::map<Key, Choice> map_;
};

AlgoCache& algo_cache() {
  static AlgoCache* cache = new AlgoCache();  // never destroyed: used until exit
  return *cache;
}

// The first usable result (cuDNN lists them fastest first): it succeeded, fits the workspace
// limit, uses FMA math unless tensor cores are allowed (TF32, or bf16 data, whose products
// tensor cores form exactly), and, when any such exists and determinism is
// asked for (the default), is deterministic (reruns then give identical gradients, which the
// pipeline-versus-sequential checks need).
template <class Perf>
Choice pick(const char* op, const std::vector<Perf>& perf, int count, bool tf32,
            size_t max_workspace) {
  for (int pass = conv_deterministic() ? 0 : 1; pass < 2; ++pass) {
    for (int i = 0; i < count; ++i) {
      const Perf& p = perf[i];
      if (p.status != CUDNN_STATUS_SUCCESS || p.memory > max_workspace) continue;
      if (!tf32 && p.mathType != CUDNN_FMA_MATH) continue;
      if (pass == 0 && p.determinism != CUDNN_DETERMINISTIC) continue;
      return {static_cast<int>(p.algo), p.mathType, p.memory};
    }
  }
  AUGUR_THROW(op, ": cuDNN offers no algorithm (of ", count, " candidates) within ",
              max_workspace >> 20, " MiB of workspace", tf32 ? "" : " using FMA math");
}

// Largest workspace among the heuristic candidates that fit the limit, for benchmarking.
template <class Perf>
size_t benchmark_workspace(const std::vector<Perf>& perf, int count, size_t max_workspace) {
  size_t bytes = 0;
  for (int i = 0; i < count; ++i)
    if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= max_workspace)
      bytes = std::max(bytes, perf[i].memory);
  return bytes;
}

struct Call {
  const char* op;
  Op kind;
  const TensorView& x;  // input (dx for backward data)
  const TensorView& w;  // filters (dw for backward filter)
  const TensorView& y;  // output (dy for the backward ops)
  const ConvParams& params;
  const Stream& stream;
  bool bf16 = false;      // x, y and (but for backward filter's) w are bf16
  TensorView filter_out;  // what cuDNN writes as w (backward filter: the bf16 scratch)
};

Choice choose(const Call& c, cudnnHandle_t h, StreamResources& res, Descriptors& d) {
  const bool tf32 = gpu_allow_tf32() || c.bf16;
  const bool bench = conv_algo_search() == ConvAlgoSearch::Benchmark;
  std::vector<int64_t> dims;
  for (const Shape* s : {&c.x.shape(), &c.w.shape()})
    for (int64_t v : *s) dims.push_back(v);
  for (int v : {c.params.stride_h, c.params.stride_w, c.params.pad_h, c.params.pad_w})
    dims.push_back(v);
  const Key key{c.stream.device().index,
                static_cast<int>(c.kind),
                dims,
                tf32,
                bench,
                conv_deterministic(),
                c.bf16};
  Choice choice;
  if (algo_cache().find(key, &choice)) return choice;
  const size_t limit = max_workspace_bytes(c.stream.device());

  int max_count = 0, count = 0;
  if (c.kind == Op::Forward) {
    CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &max_count));
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(max_count);
    CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x(), d.w(), d.conv(), d.y(), max_count,
                                                       &count, perf.data()));
    if (bench) {
      const size_t bytes = benchmark_workspace(perf, count, limit);
      void* ws = bytes ? res.workspace(bytes) : nullptr;
      // Writes candidate results into y, which the real call overwrites.
      CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(
          h, d.x(), c.x.raw(), d.w(), c.filter_out.raw(), d.conv(), d.y(), c.y.raw(), max_count,
          &count, perf.data(), ws, bytes));
    }
    choice = pick(c.op, perf, count, tf32, limit);
  } else if (c.kind == Op::BackwardData) {
    CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &max_count));
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(max_count);
    CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w(), d.y(), d.conv(), d.x(),
                                                            max_count, &count, perf.data()));
    if (bench) {
      const size_t bytes = benchmark_workspace(perf, count, limit);
      void* ws = bytes ? res.workspace(bytes) : nullptr;
      // Writes candidate results into dx, which the real call overwrites.
      CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(
          h, d.w(), c.filter_out.raw(), d.y(), c.y.raw(), d.conv(), d.x(), c.x.raw(), max_count,
          &count, perf.data(), ws, bytes));
    }
    choice = pick(c.op, perf, count, tf32, limit);
  } else {
    CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &max_count));
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(max_count);
    CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x(), d.y(), d.conv(), d.w(),
                                                              max_count, &count, perf.data()));
    if (bench) {
      const size_t bytes = benchmark_workspace(perf, count, limit);
      void* ws = bytes ? res.workspace(bytes) : nullptr;
      // dw accumulates, so the candidates write into a scratch copy instead.
      Buffer scratch(c.stream.device(), c.w.bytes(), &c.stream);
      CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(
          h, d.x(), c.x.raw(), d.y(), c.y.raw(), d.conv(), d.w(), scratch.data(), max_count, &count,
          perf.data(), ws, bytes));
    }
    choice = pick(c.op, perf, count, tf32, limit);
  }
  algo_cache().insert(key, choice);
  return choice;
}

__global__ void accumulate_widened_kernel(const __nv_bfloat16* __restrict__ src,
                                          float* __restrict__ dst, int64_t n) {
  for_each_index(n, [&](int64_t i) { dst[i] += float(src[i]); });
}

void run(Call c) {
  const char* xn = c.kind == Op::BackwardData ? "dx" : "x";
  const char* wn = c.kind == Op::BackwardFilter ? "dw" : "w";
  const char* yn = c.kind == Op::Forward ? "y" : "dy";
  c.bf16 = is_bf16(c.x) || is_bf16(c.y) || is_bf16(c.w);
  if (c.bf16) {
    // Activations (and the compute copy of the filters) bf16; the filter gradient f32.
    if (c.kind == Op::BackwardFilter)
      require_bf16_mix(c.op, {{xn, &c.x}, {yn, &c.y}}, {{wn, &c.w}});
    else
      require_bf16_mix(c.op, {{xn, &c.x}, {wn, &c.w}, {yn, &c.y}});
  }
  detail::check_conv(c.op, checked_as_f32(c.x), checked_as_f32(c.w), checked_as_f32(c.y), c.params,
                     false, xn, wn, yn);
  if (c.y.numel() == 0) return;  // an empty batch (the output is never empty otherwise)
  StreamResources& res = DeviceContext::get(c.stream.device()).resources(c.stream);
  cudnnHandle_t h = res.cudnn();
  // bf16 asks for CUDNN_TENSOR_OP_MATH: cuDNN documents CUDNN_DEFAULT_MATH as allowing tensor
  // cores for TF32 (the first H200 run, under DEFAULT, measured bf16 ResNet-50 at an eighth of
  // strict f32's speed; not yet re-measured under TENSOR_OP).
  Descriptors d(c.op, c.x.shape(), c.w.shape(), c.y.shape(), c.params,
                c.bf16             ? CUDNN_TENSOR_OP_MATH
                : gpu_allow_tf32() ? CUDNN_DEFAULT_MATH
                                   : CUDNN_FMA_MATH,
                c.bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT);
  Tensor scratch;  // bf16 backward filter: cuDNN's bf16 gradient, accumulated after
  c.filter_out = c.w;
  if (c.bf16 && c.kind == Op::BackwardFilter) {
    scratch = Tensor::empty(c.w.shape(), DType::BF16, c.stream.device(), &c.stream);
    c.filter_out = scratch;
  }
  const Choice choice = choose(c, h, res, d);
  d.set_math(choice.math);
  void* ws = choice.workspace ? res.workspace(choice.workspace) : nullptr;
  const float one = 1.f, zero = 0.f;
  switch (c.kind) {
    case Op::Forward:
      CUDNN_CHECK(cudnnConvolutionForward(h, &one, d.x(), c.x.raw(), d.w(), c.w.raw(), d.conv(),
                                          static_cast<cudnnConvolutionFwdAlgo_t>(choice.algo), ws,
                                          choice.workspace, &zero, d.y(), c.y.raw()));
      break;
    case Op::BackwardData:
      CUDNN_CHECK(
          cudnnConvolutionBackwardData(h, &one, d.w(), c.w.raw(), d.y(), c.y.raw(), d.conv(),
                                       static_cast<cudnnConvolutionBwdDataAlgo_t>(choice.algo), ws,
                                       choice.workspace, &zero, d.x(), c.x.raw()));
      break;
    case Op::BackwardFilter:
      // Parameter gradients accumulate: beta = 1 into the f32 arena, or beta = 0 into the
      // bf16 scratch that is then added to it.
      CUDNN_CHECK(cudnnConvolutionBackwardFilter(
          h, &one, d.x(), c.x.raw(), d.y(), c.y.raw(), d.conv(),
          static_cast<cudnnConvolutionBwdFilterAlgo_t>(choice.algo), ws, choice.workspace,
          c.bf16 ? &zero : &one, d.w(), c.filter_out.raw()));
      if (c.bf16)
        launch_linear("conv_backward_filter (bf16 accumulate)", accumulate_widened_kernel,
                      c.w.numel(), c.stream, scratch.view().data<__nv_bfloat16>(),
                      c.w.data<float>(), c.w.numel());
      break;
  }
}

}  // namespace

void conv_forward(const TensorView& x, const TensorView& w, const TensorView& y,
                  const ConvParams& params, const Stream& stream) {
  run({"conv_forward", Op::Forward, x, w, y, params, stream, false, TensorView()});
}

void conv_backward_data(const TensorView& dy, const TensorView& w, const TensorView& dx,
                        const ConvParams& params, const Stream& stream) {
  run({"conv_backward_data", Op::BackwardData, dx, w, dy, params, stream, false, TensorView()});
}

void conv_backward_filter(const TensorView& x, const TensorView& dy, const TensorView& dw,
                          const ConvParams& params, const Stream& stream) {
  run({"conv_backward_filter", Op::BackwardFilter, x, dw, dy, params, stream, false, TensorView()});
}

}  // namespace augur::kernels::cuda

#pragma nv_diagnostic pop
#pragma GCC diagnostic pop
