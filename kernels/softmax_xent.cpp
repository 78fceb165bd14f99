#include "kernels/softmax_xent.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "kernels/bf16_emulation.h"
#include "kernels/dispatch.h"
#include "kernels/label_check.h"
#include "kernels/profile.h"
#include "kernels/softmax_xent_math.h"
#include "runtime/thread_pool.h"

namespace augur::kernels {

namespace detail {

void check_softmax_xent(const char* op, const TensorView& logits, const TensorView& labels,
                        const TensorView& loss, const TensorView& dlogits, double label_smoothing,
                        bool allow_f64) {
  require_float(op, "logits", logits, allow_f64);
  AUGUR_ARG_CHECK(logits.rank() == 2 && logits.dim(0) >= 1 && logits.dim(1) >= 1, op, ": logits ",
                  logits.str(), " must be [N, classes] with N, classes >= 1");
  AUGUR_ARG_CHECK(labels.dtype() == DType::I64 && labels.shape() == Shape({logits.dim(0)}), op,
                  ": labels ", labels.str(), " must be i64[", logits.dim(0), "] for logits ",
                  logits.str());
  AUGUR_ARG_CHECK(loss.dtype() == logits.dtype() && loss.shape() == Shape({1}), op, ": loss ",
                  loss.str(), " must be a [1] tensor of the logits' dtype ",
                  dtype_name(logits.dtype()));
  AUGUR_ARG_CHECK(
      dlogits.empty() || (dlogits.dtype() == logits.dtype() && dlogits.shape() == logits.shape()),
      op, ": dlogits ", dlogits.str(), " does not match logits ", logits.str());
  AUGUR_ARG_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, op, ": label smoothing ",
                  label_smoothing, " is outside [0, 1]");
}

}  // namespace detail

namespace {

// One row's loss, and (when dz is given) its gradient written over dz. dz may alias z: the
// label's logit is read first, and each z_j is read before dz_j is written (dz_j holds
// exp(d_j) between the two passes, so each exp is computed once).
template <class T>
T xent_row(const T* z, int64_t label, int64_t classes, T eps, int64_t batch, T* dz) {
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t j = 0; j < classes; ++j) m = z[j] > m ? z[j] : m;
  const T shifted_label = z[label] - m;
  T sum_exp = 0, sum_shifted = 0;
  for (int64_t j = 0; j < classes; ++j) {
    const T d = z[j] - m;
    const T e = xent_exp(d);
    sum_exp += e;
    sum_shifted += d;
    if (dz) dz[j] = e;
  }
  if (dz)
    for (int64_t j = 0; j < classes; ++j)
      dz[j] = xent_grad(dz[j], sum_exp, j == label, eps, classes, batch);
  return xent_row_loss(sum_exp, shifted_label, sum_shifted, eps, classes);
}

template <class T>
void xent(const TensorView& logits, const TensorView& labels, const TensorView& loss,
          const TensorView& dlogits, double label_smoothing) {
  const int64_t n = logits.dim(0), classes = logits.dim(1);
  const T* z = logits.data<T>();
  const int64_t* y = labels.data<int64_t>();
  T* dz = dlogits.empty() ? nullptr : dlogits.data<T>();
  const T eps = static_cast<T>(label_smoothing);
  std::vector<T> row_loss(static_cast<size_t>(n));
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 14) / classes);
  ThreadPool::global().parallel_for(0, n, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      row_loss[i] = xent_row(z + i * classes, y[i], classes, eps, n, dz ? dz + i * classes : dz);
  });
  T total = 0;
  for (T l : row_loss) total += l;
  loss.data<T>()[0] = total / static_cast<T>(n);
}

template <class T>
void xent_checked(const char* op, const TensorView& logits, const TensorView& labels,
                  const TensorView& loss, const TensorView& dlogits, double label_smoothing) {
  detail::check_labels_on_host(op, labels, logits.dim(1));
  xent<T>(logits, labels, loss, dlogits, label_smoothing);
}

void run_cpu(const char* op, const TensorView& logits, const TensorView& labels,
             const TensorView& loss, const TensorView& dlogits, double label_smoothing) {
  detail::check_softmax_xent(op, logits, labels, loss, dlogits, label_smoothing, true);
  if (logits.dtype() == DType::F64)
    xent_checked<double>(op, logits, labels, loss, dlogits, label_smoothing);
  else
    xent_checked<float>(op, logits, labels, loss, dlogits, label_smoothing);
}

}  // namespace

namespace cpu {

void softmax_xent_forward_backward(const TensorView& logits, const TensorView& labels,
                                   const TensorView& loss, const TensorView& dlogits,
                                   double label_smoothing, const Stream& stream) {
  if (any_bf16({&logits, &loss, &dlogits})) {
    require_bf16_mix("softmax_xent_forward_backward", {{"logits", &logits}, {"dlogits", &dlogits}},
                     {{"loss", &loss}});
    Bf16Staging st(stream);
    cpu::softmax_xent_forward_backward(st.in(logits), labels, loss, st.out(dlogits),
                                       label_smoothing, stream);
    return st.finish();
  }
  const profile::Scope scope(profile::Op::Loss);
  AUGUR_ARG_CHECK(!dlogits.empty(), "softmax_xent_forward_backward: dlogits is empty");
  run_cpu("softmax_xent_forward_backward", logits, labels, loss, dlogits, label_smoothing);
}

void softmax_xent_loss(const TensorView& logits, const TensorView& labels, const TensorView& loss,
                       double label_smoothing, const Stream& stream) {
  if (any_bf16({&logits, &loss})) {
    require_bf16_mix("softmax_xent_loss", {{"logits", &logits}}, {{"loss", &loss}});
    Bf16Staging st(stream);
    return cpu::softmax_xent_loss(st.in(logits), labels, loss, label_smoothing, stream);
  }
  const profile::Scope scope(profile::Op::Loss);
  run_cpu("softmax_xent_loss", logits, labels, loss, TensorView(), label_smoothing);
}

}  // namespace cpu

void softmax_xent_forward_backward(const TensorView& logits, const TensorView& labels,
                                   const TensorView& loss, const TensorView& dlogits,
                                   double label_smoothing, const Stream& stream) {
  const Device& d =
      common_device("softmax_xent_forward_backward", stream, {&logits, &labels, &loss, &dlogits});
  AUGUR_DISPATCH(d, softmax_xent_forward_backward, logits, labels, loss, dlogits, label_smoothing,
                 stream);
}

void softmax_xent_loss(const TensorView& logits, const TensorView& labels, const TensorView& loss,
                       double label_smoothing, const Stream& stream) {
  const Device& d = common_device("softmax_xent_loss", stream, {&logits, &labels, &loss});
  AUGUR_DISPATCH(d, softmax_xent_loss, logits, labels, loss, label_smoothing, stream);
}

}  // namespace augur::kernels
