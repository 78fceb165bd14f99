#include <cub/block/block_reduce.cuh>
#include <cuda/functional>

#include <algorithm>
#include <climits>

#include "kernels/accuracy.h"
#include "kernels/cuda_bf16.h"
#include "kernels/cuda_launch.cuh"
#include "kernels/label_check.h"
#include "kernels/softmax_xent_math.h"
#include "runtime/context.h"

namespace augur::kernels::cuda {

namespace {

constexpr int kFinishBlock = 256;
constexpr int kRowBlock = 128;

// One block per row counts the logits strictly greater than the label's; the row's result
// is a bit mask: 1 = top-1 hit, 2 = top-k hit.
template <class T>
__global__ void __launch_bounds__(kRowBlock)
    accuracy_rows_kernel(const T* __restrict__ logits, const int64_t* __restrict__ labels,
                         int64_t classes, int64_t k, uint8_t* __restrict__ hits) {
  using Reduce = cub::BlockReduce<int64_t, kRowBlock>;
  __shared__ typename Reduce::TempStorage tmp;
  const int64_t row = blockIdx.x;
  const int64_t label = labels[row];
  if (!label_in_range(label, classes)) {  // uniform across the block; the finish kernel reports it
    if (threadIdx.x == 0) hits[row] = 0;
    return;
  }
  const T* z = logits + row * classes;
  const float zl = static_cast<float>(z[label]);
  int64_t greater = 0;
  for (int64_t j = threadIdx.x; j < classes; j += kRowBlock)
    greater += topk_logit_greater(static_cast<float>(z[j]), zl);
  greater = Reduce(tmp).Sum(greater);
  if (threadIdx.x == 0) {
    const bool nan = zl != zl;
    hits[row] = static_cast<uint8_t>((topk_hit(nan, greater, 1) ? 1 : 0) |
                                     (topk_hit(nan, greater, k) ? 2 : 0));
  }
}

// One block sums the hits (exact integers) and marks the first out-of-range label.
__global__ void __launch_bounds__(kFinishBlock)
    accuracy_finish_kernel(const uint8_t* __restrict__ hits, const int64_t* __restrict__ labels,
                           int64_t batch, int64_t classes, int64_t* __restrict__ counts,
                           detail::LabelStatus* __restrict__ status) {
  using Reduce = cub::BlockReduce<int64_t, kFinishBlock>;
  __shared__ typename Reduce::TempStorage tmp;
  int64_t top1 = 0, topk = 0, bad = batch;
  for (int64_t i = threadIdx.x; i < batch; i += kFinishBlock) {
    top1 += hits[i] & 1;
    topk += (hits[i] >> 1) & 1;
    if (bad == batch && !label_in_range(labels[i], classes)) bad = i;
  }
  top1 = Reduce(tmp).Sum(top1);
  __syncthreads();
  topk = Reduce(tmp).Sum(topk);
  __syncthreads();
  bad = Reduce(tmp).Reduce(bad, ::cuda::minimum<>{});
  if (threadIdx.x == 0) {
    counts[0] = top1;
    counts[1] = topk;
    status->first_bad_sample = bad < batch ? bad : -1;
    status->label = bad < batch ? labels[bad] : 0;
  }
}

}  // namespace

void accuracy_topk(const TensorView& logits, const TensorView& labels, const TensorView& counts,
                   int k, const Stream& stream) {
  detail::check_accuracy(checked_as_f32(logits), labels, counts, k, false);
  const int64_t n = logits.dim(0), classes = logits.dim(1);
  AUGUR_ARG_CHECK(n <= INT_MAX, "accuracy_topk: ", logits.str(),
                  " has more rows than a grid holds");
  const int64_t k_eff = std::min<int64_t>(k, classes);
  // Workspace: the label mark, then one byte of hits per row.
  char* ws = static_cast<char*>(DeviceContext::get(stream.device())
                                    .resources(stream)
                                    .workspace(sizeof(detail::LabelStatus) + n));
  auto* status = reinterpret_cast<detail::LabelStatus*>(ws);
  auto* hits = reinterpret_cast<uint8_t*>(ws + sizeof(detail::LabelStatus));
  if (n > 0) {
    if (is_bf16(logits))
      accuracy_rows_kernel<__nv_bfloat16>
          <<<static_cast<unsigned>(n), kRowBlock, 0, stream.handle()>>>(
              logits.data<__nv_bfloat16>(), labels.data<int64_t>(), classes, k_eff, hits);
    else
      accuracy_rows_kernel<float><<<static_cast<unsigned>(n), kRowBlock, 0, stream.handle()>>>(
          logits.data<float>(), labels.data<int64_t>(), classes, k_eff, hits);
    AUGUR_CHECK_LAUNCH("accuracy_topk rows", stream.handle());
  }
  accuracy_finish_kernel<<<1, kFinishBlock, 0, stream.handle()>>>(
      hits, labels.data<int64_t>(), n, classes, counts.data<int64_t>(), status);
  AUGUR_CHECK_LAUNCH("accuracy_topk finish", stream.handle());
  detail::check_label_status("accuracy_topk", status, classes, stream);
}

}  // namespace augur::kernels::cuda
