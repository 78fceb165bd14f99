#include <cub/block/block_reduce.cuh>
#include <cuda/functional>
#include <cuda/std/limits>

#include <climits>

#include "kernels/cuda_bf16.h"
#include "kernels/cuda_launch.cuh"
#include "kernels/label_check.h"
#include "kernels/softmax_xent.h"
#include "kernels/softmax_xent_math.h"
#include "runtime/context.h"

namespace augur::kernels::cuda {

namespace {

constexpr int kFinishBlock = 256;

// One block per row: max, then sum of exp(z - max) (and of z - max for smoothing), with CUB
// block reductions; then the row's gradient. Storage type T, f32 arithmetic. `dlogits` may
// alias `logits` (no __restrict__): thread 0 reads the label's logit before the barrier that
// precedes every write.
template <class T, int BLOCK>
__global__ void __launch_bounds__(BLOCK)
    xent_rows_kernel(const T* logits, const int64_t* __restrict__ labels, int64_t classes,
                     float eps, int64_t batch, float* __restrict__ row_loss, T* dlogits) {
  using Reduce = cub::BlockReduce<float, BLOCK>;
  __shared__ typename Reduce::TempStorage tmp;
  __shared__ float shared_max, shared_sum;
  const int64_t row = blockIdx.x;
  const T* z = logits + row * classes;
  const int64_t label = labels[row];
  const bool valid = label_in_range(label, classes);

  float m = -::cuda::std::numeric_limits<float>::infinity();
  for (int64_t j = threadIdx.x; j < classes; j += BLOCK) {
    const float v = static_cast<float>(z[j]);
    m = v > m ? v : m;
  }
  m = Reduce(tmp).Reduce(m, ::cuda::maximum<>{});
  if (threadIdx.x == 0) shared_max = m;
  __syncthreads();
  m = shared_max;

  float sum_exp = 0.f, sum_shifted = 0.f;
  for (int64_t j = threadIdx.x; j < classes; j += BLOCK) {
    const float d = static_cast<float>(z[j]) - m;
    sum_exp += xent_exp(d);
    sum_shifted += d;
  }
  sum_exp = Reduce(tmp).Sum(sum_exp);
  if (eps > 0.f) {    // uniform across the block
    __syncthreads();  // tmp is reused
    sum_shifted = Reduce(tmp).Sum(sum_shifted);
  }
  if (threadIdx.x == 0) {
    shared_sum = sum_exp;
    row_loss[row] =
        valid ? xent_row_loss(sum_exp, static_cast<float>(z[label]) - m, sum_shifted, eps, classes)
              : ::cuda::std::numeric_limits<float>::quiet_NaN();
  }
  __syncthreads();
  if (!dlogits) return;
  sum_exp = shared_sum;
  T* dz = dlogits + row * classes;
  for (int64_t j = threadIdx.x; j < classes; j += BLOCK)
    dz[j] = T(xent_grad(xent_exp(static_cast<float>(z[j]) - m), sum_exp, j == label, eps, classes,
                        batch));
}

// One block: the batch mean in a fixed order (deterministic, no atomics) and the first
// out-of-range label, for the host to read back.
template <class T>
__global__ void __launch_bounds__(kFinishBlock)
    xent_finish_kernel(const float* __restrict__ row_loss, const int64_t* __restrict__ labels,
                       int64_t batch, int64_t classes, T* __restrict__ loss,
                       detail::LabelStatus* __restrict__ status) {
  using SumReduce = cub::BlockReduce<float, kFinishBlock>;
  using MinReduce = cub::BlockReduce<int64_t, kFinishBlock>;
  __shared__ typename SumReduce::TempStorage sum_tmp;
  __shared__ typename MinReduce::TempStorage min_tmp;
  float acc = 0.f;
  int64_t bad = batch;
  for (int64_t i = threadIdx.x; i < batch; i += kFinishBlock) {
    acc += row_loss[i];
    if (bad == batch && !label_in_range(labels[i], classes)) bad = i;
  }
  acc = SumReduce(sum_tmp).Sum(acc);
  bad = MinReduce(min_tmp).Reduce(bad, ::cuda::minimum<>{});
  if (threadIdx.x == 0) {
    loss[0] = T(acc / static_cast<float>(batch));
    status->first_bad_sample = bad < batch ? bad : -1;
    status->label = bad < batch ? labels[bad] : 0;
  }
}

// T: the logits' and their gradient's storage (f32, or bf16 with the loss still f32).
template <int BLOCK, class T>
void launch_rows_as(const TensorView& logits, const TensorView& labels, const TensorView& dlogits,
                    float eps, float* row_loss, const Stream& stream) {
  const int64_t n = logits.dim(0), classes = logits.dim(1);
  xent_rows_kernel<T, BLOCK><<<static_cast<unsigned>(n), BLOCK, 0, stream.handle()>>>(
      logits.data<T>(), labels.data<int64_t>(), classes, eps, n, row_loss,
      dlogits.empty() ? nullptr : dlogits.data<T>());
}

template <int BLOCK>
void launch_rows(const TensorView& logits, const TensorView& labels, const TensorView& dlogits,
                 float eps, float* row_loss, const Stream& stream) {
  if (is_bf16(logits))
    launch_rows_as<BLOCK, __nv_bfloat16>(logits, labels, dlogits, eps, row_loss, stream);
  else
    launch_rows_as<BLOCK, float>(logits, labels, dlogits, eps, row_loss, stream);
}

void run(const char* op, const TensorView& logits, const TensorView& labels, const TensorView& loss,
         const TensorView& dlogits, double label_smoothing, const Stream& stream) {
  if (is_bf16(logits) || is_bf16(dlogits) || is_bf16(loss))
    require_bf16_mix(op, {{"logits", &logits}, {"dlogits", &dlogits}}, {{"loss", &loss}});
  detail::check_softmax_xent(op, checked_as_f32(logits), labels, loss, checked_as_f32(dlogits),
                             label_smoothing, false);
  const int64_t n = logits.dim(0), classes = logits.dim(1);
  AUGUR_ARG_CHECK(n <= INT_MAX, op, ": ", logits.str(), " has more rows than a grid holds");
  // Workspace: the label mark, then one f32 loss per row.
  char* ws = static_cast<char*>(DeviceContext::get(stream.device())
                                    .resources(stream)
                                    .workspace(sizeof(detail::LabelStatus) + n * sizeof(float)));
  auto* status = reinterpret_cast<detail::LabelStatus*>(ws);
  float* row_loss = reinterpret_cast<float*>(ws + sizeof(detail::LabelStatus));
  const float eps = static_cast<float>(label_smoothing);
  // A warp for small class counts, else enough threads for a few elements each.
  if (classes <= 64)
    launch_rows<32>(logits, labels, dlogits, eps, row_loss, stream);
  else if (classes <= 512)
    launch_rows<128>(logits, labels, dlogits, eps, row_loss, stream);
  else
    launch_rows<256>(logits, labels, dlogits, eps, row_loss, stream);
  AUGUR_CHECK_LAUNCH("softmax_xent rows", stream.handle());
  xent_finish_kernel<float><<<1, kFinishBlock, 0, stream.handle()>>>(
      row_loss, labels.data<int64_t>(), n, classes, loss.data<float>(), status);
  AUGUR_CHECK_LAUNCH("softmax_xent finish", stream.handle());
  detail::check_label_status(op, status, classes, stream);
}

}  // namespace

void softmax_xent_forward_backward(const TensorView& logits, const TensorView& labels,
                                   const TensorView& loss, const TensorView& dlogits,
                                   double label_smoothing, const Stream& stream) {
  AUGUR_ARG_CHECK(!dlogits.empty(), "softmax_xent_forward_backward: dlogits is empty");
  run("softmax_xent_forward_backward", logits, labels, loss, dlogits, label_smoothing, stream);
}

void softmax_xent_loss(const TensorView& logits, const TensorView& labels, const TensorView& loss,
                       double label_smoothing, const Stream& stream) {
  run("softmax_xent_loss", logits, labels, loss, TensorView(), label_smoothing, stream);
}

}  // namespace augur::kernels::cuda
