#include "kernels/accuracy.h"

#include <algorithm>
#include <vector>

#include "kernels/bf16_emulation.h"
#include "kernels/dispatch.h"
#include "kernels/label_check.h"
#include "kernels/softmax_xent_math.h"
#include "runtime/thread_pool.h"

namespace augur::kernels {

namespace detail {

void check_accuracy(const TensorView& logits, const TensorView& labels, const TensorView& counts,
                    int k, bool allow_f64) {
  require_float("accuracy_topk", "logits", logits, allow_f64);
  AUGUR_ARG_CHECK(logits.rank() == 2 && logits.dim(1) >= 1, "accuracy_topk: logits ", logits.str(),
                  " must be [N, classes] with classes >= 1");
  AUGUR_ARG_CHECK(labels.dtype() == DType::I64 && labels.shape() == Shape({logits.dim(0)}),
                  "accuracy_topk: labels ", labels.str(), " must be i64[", logits.dim(0),
                  "] for logits ", logits.str());
  AUGUR_ARG_CHECK(counts.dtype() == DType::I64 && counts.shape() == Shape({2}),
                  "accuracy_topk: counts ", counts.str(), " must be i64[2]");
  AUGUR_ARG_CHECK(k >= 1, "accuracy_topk: k = ", k, " must be at least 1");
}

}  // namespace detail

namespace {

template <class T>
void accuracy(const TensorView& logits, const TensorView& labels, const TensorView& counts,
              int64_t k) {
  const int64_t n = logits.dim(0), classes = logits.dim(1);
  const T* z = logits.data<T>();
  const int64_t* y = labels.data<int64_t>();
  std::vector<int64_t> greater(static_cast<size_t>(n));
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 14) / classes);
  ThreadPool::global().parallel_for(0, n, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const T* zi = z + i * classes;
      const T zl = zi[y[i]];
      int64_t g = 0;
      for (int64_t j = 0; j < classes; ++j) g += topk_logit_greater(zi[j], zl);
      greater[i] = zl != zl ? -1 : g;  // -1 marks a NaN label logit
    }
  });
  int64_t top1 = 0, topk = 0;
  for (int64_t g : greater) {
    top1 += topk_hit(g < 0, g, 1);
    topk += topk_hit(g < 0, g, k);
  }
  int64_t* out = counts.data<int64_t>();
  out[0] = top1;
  out[1] = topk;
}

}  // namespace

namespace cpu {

void accuracy_topk(const TensorView& logits, const TensorView& labels, const TensorView& counts,
                   int k, const Stream& stream) {
  if (any_bf16({&logits})) {
    Bf16Staging st(stream);
    return cpu::accuracy_topk(st.in(logits), labels, counts, k, stream);
  }
  detail::check_accuracy(logits, labels, counts, k, true);
  detail::check_labels_on_host("accuracy_topk", labels, logits.dim(1));
  const int64_t k_eff = std::min<int64_t>(k, logits.dim(1));
  if (logits.dtype() == DType::F64)
    accuracy<double>(logits, labels, counts, k_eff);
  else
    accuracy<float>(logits, labels, counts, k_eff);
}

}  // namespace cpu

void accuracy_topk(const TensorView& logits, const TensorView& labels, const TensorView& counts,
                   int k, const Stream& stream) {
  const Device& d = common_device("accuracy_topk", stream, {&logits, &labels, &counts});
  AUGUR_DISPATCH(d, accuracy_topk, logits, labels, counts, k, stream);
}

}  // namespace augur::kernels
